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
import urllib.request
from collections.abc import Iterator
from typing import Any

from smithers.server.settings import ServerSettings

__all__ = ["free_port", "run_server"]

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


def _announce_when_ready(host: str, port: int, token: str | None) -> None:
    shown = f"[{host}]" if ":" in host else host
    probe_host = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    url = f"http://{'[' + probe_host + ']' if ':' in probe_host else probe_host}:{port}/health"
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    sys.stderr.write(f"[smithers] HTTP server listening on http://{shown}:{port}\n")
                    sys.stderr.flush()
                    return
        except OSError:
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

    port = settings.port or free_port(settings.host)
    env = settings.to_env()
    env["SMITHERS_PORT"] = str(port)
    os.environ.update(env)
    with _metrics_dir(settings.workers):
        server = _granian_class()(
            "smithers.server.asgi:app_from_env",
            address=settings.host,
            port=port,
            interface=Interfaces.ASGI,
            workers=max(1, settings.workers),
            factory=True,
            log_access=False,
            # A worker that has not stopped this long after SIGTERM is killed; its runs then
            # belong to a dead process and the next server claims them at once.
            workers_kill_timeout=WORKER_STOP_TIMEOUT,
        )
        threading.Thread(
            target=_announce_when_ready,
            args=(settings.host, port, settings.token),
            daemon=True,
        ).start()
        server.serve()
    return 0
