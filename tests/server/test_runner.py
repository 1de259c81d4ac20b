"""The Granian runner's own behaviour."""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from contracts.deployment import LocalServer
from smithers.server.process.runner import _granian_class
from tests.server.process import ServerProcess


def test_stop_handler_survives_a_signal_arriving_inside_it() -> None:
    server = _granian_class()("smithers.server.process.asgi:app_from_env", factory=True)
    real = server.main_loop_interrupt

    class SignalledInside(threading.Event):
        """An Event whose set() is interrupted by the next signal while it holds its lock."""

        def set(self) -> None:
            with self._cond:  # type: ignore[attr-defined]
                server.signal_handler_interrupt()  # the second SIGTERM, delivered right here
            real.set()

    server.main_loop_interrupt = SignalledInside()
    done = threading.Event()

    def first_signal() -> None:
        server.signal_handler_interrupt()
        done.set()

    threading.Thread(target=first_signal, daemon=True).start()
    assert done.wait(5), "the stop handler deadlocked on a nested signal"
    assert server.interrupt_signal and real.is_set()


PROBE_IN_A_FRESH_INTERPRETER = """
import socket, sys, threading
from smithers.server.process.runner import free_port, health_answers

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
answers = iter([b"HTTP/1.1 200 OK\\r\\ncontent-length: 11\\r\\n\\r\\n{\\"ok\\":true}",
                b"HTTP/1.1 503 Service Unavailable\\r\\ncontent-length: 0\\r\\n\\r\\n"])

def serve():
    for answer in answers:
        conn, _ = listener.accept()
        conn.recv(1024)
        conn.sendall(answer)
        conn.close()

threading.Thread(target=serve, daemon=True).start()
closed = free_port("127.0.0.1")
before = set(sys.modules)
results = [
    health_answers("127.0.0.1", closed),
    health_answers("127.0.0.1", listener.getsockname()[1]),
    health_answers("127.0.0.1", listener.getsockname()[1]),
]
print(results, sorted(set(sys.modules) - before))
"""


def test_readiness_probe_imports_nothing_while_workers_fork() -> None:
    """The probe thread runs during Granian's forks: an import there can leave a module lock
    held in a worker (a PostgreSQL worker hung importing ``unicodedata`` that way)."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", PROBE_IN_A_FRESH_INTERPRETER],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert out.strip() == "[False, True, False] []"


def test_a_token_that_starts_with_a_dash_is_accepted_with_an_equals_sign(
    root: Path, tmp_path: Path
) -> None:
    # Random tokens start with "-" one time in 64 (base64url): a real `smithers server`.
    token = "-x7" + secrets.token_urlsafe(16)
    smithers = str(Path(sys.executable).with_name("smithers"))
    db = f"sqlite:///{tmp_path / 'server.db'}"
    server = ServerProcess(root, db, token=token, program=(smithers, "server"))
    with server, httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/v1/runs").status_code == 401
        wrong = client.get("/v1/runs", headers={"Authorization": "Bearer -x7"})
        assert wrong.status_code == 401
        right = client.get("/v1/runs", headers={"Authorization": f"Bearer {token}"})
        assert right.status_code == 200, right.text
    spaced = subprocess.run(
        [smithers, "server", "--auth-token", token], capture_output=True, text=True, timeout=60
    )
    assert spaced.returncode == 4  # bad input: the form the help and docs warn about
    assert "--auth-token: expected one argument" in spaced.stderr


def test_the_contract_suites_server_starts_whatever_its_token(tmp_path: Path) -> None:
    local = LocalServer(tmp_path, token="-" + secrets.token_urlsafe(16))
    try:
        deployment = local.start()
        auth = {"Authorization": f"Bearer {deployment.token}"}
        response = httpx.get(f"{deployment.base_url}/v1/runs", headers=auth, timeout=10)
        assert response.status_code == 200, response.text
    finally:
        local.stop()
