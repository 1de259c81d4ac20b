"""Run the HTTP server under Granian (``smithers server``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

from smithers.server.process.log_format import LogFormat, json_line, log_config
from smithers.server.process.settings import ServerSettings

__all__ = ["free_port", "health_answers", "run_server"]

READY_TIMEOUT = 60.0
WORKER_STOP_TIMEOUT = 20


def free_port(host: str) -> int:
    """A port the OS says is free now (for ``--port 0``)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _metrics_dir(workers: int) -> Iterator[None]:
    """Several workers share metrics through a directory (prometheus-client multiprocess)."""
    if workers <= 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    path = tempfile.mkdtemp(prefix="smithers-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(path, ignore_errors=True)


def health_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether ``GET /health`` on ``host:port`` (an address or ASCII host name) answers 200.

    Raw socket and bytes on purpose: the probe runs in a thread of the main process while
    Granian forks the workers, and a thread that holds an import lock at a fork leaves that
    lock held forever in the child. ``urllib`` imported ``encodings.idna``, ``stringprep`` and
    ``unicodedata`` on first use; a worker whose PostgreSQL driver then imported them hung at
    startup. This probe imports nothing.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    request = b"GET /health HTTP/1.1\r\nHost: smithers\r\nConnection: close\r\n\r\n"
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect((host, port))  # an ASCII address: no codec lookup
            sock.sendall(request)
            head = b""
            while b"\r\n" not in head and len(head) < 64:
                chunk = sock.recv(64)
                if not chunk:
                    break
                head += chunk
    except OSError:
        return False
    status_line = head.split(b"\r\n", 1)[0].split()
    return len(status_line) >= 2 and status_line[1] == b"200"


def _announce_when_ready(host: str, port: int, log_format: LogFormat) -> None:
    shown = f"[{host}]" if ":" in host else host
    probe_host = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if health_answers(probe_host, port):
            message = f"HTTP server listening on http://{shown}:{port}"
            if log_format == "json":
                sys.stderr.write(json_line("INFO", "smithers.server", message))
            else:
                sys.stderr.write(f"[smithers] {message}\n")
            sys.stderr.flush()
            return
        time.sleep(0.05)


def _granian_class() -> type[Any]:
    from granian import Granian

    class SmithersGranian(Granian):  # type: ignore[misc,valid-type]
        """Granian whose stop signal handler tolerates a second signal arriving inside it.

        Granian's handler sets a ``threading.Event``; a second SIGTERM delivered while the
        first handler holds that Event's lock re-entered it and blocked the main process
        forever (seen when a process manager signals twice).
        """

        _interrupted = False

        def signal_handler_interrupt(self, *args: Any, **kwargs: Any) -> None:
            if self._interrupted:
                return
            self._interrupted = True
            super().signal_handler_interrupt(*args, **kwargs)

    return SmithersGranian


def run_server(settings: ServerSettings) -> int:
    """Serve until SIGINT/SIGTERM; runs are interrupted (not cancelled) on the way out."""
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    port = settings.port or free_port(settings.host)
    env = settings.to_env()
    env["SMITHERS_PORT"] = str(port)
    os.environ.update(env)
    with _metrics_dir(settings.workers):
        server = _granian_class()(
            "smithers.server.process.asgi:app_from_env",
            address=settings.host,
            port=port,
            interface=Interfaces.ASGI,
            workers=max(1, settings.workers),
            factory=True,
            log_access=False,
            log_dictconfig=log_config(settings.log_format),
            # A worker that has not stopped this long after SIGTERM is killed; its runs then
            # belong to a dead process and the next server claims them at once.
            workers_kill_timeout=WORKER_STOP_TIMEOUT,
            # Headers that have not all arrived in time close the connection (a client sending
            # a byte a second would otherwise hold it forever); bodies are timed in the app.
            http1_settings=HTTP1Settings(
                header_read_timeout=max(1, round(settings.header_read_timeout * 1000))
            ),
        )
        threading.Thread(
            target=_announce_when_ready,
            args=(settings.host, port, settings.log_format),
            daemon=True,
        ).start()
        server.serve()
    return 0
