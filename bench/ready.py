"""Announce a bench-started server once it answers: the line ``bench.servers`` waits for."""

from __future__ import annotations

import socket
import sys
import threading
import time
import urllib.request


def free_port() -> int:
    """A loopback port that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _announce(port: int, label: str) -> None:
    url = f"http://127.0.0.1:{port}/health"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    print(f"[{label}] listening on http://127.0.0.1:{port}", file=sys.stderr)
                    sys.stderr.flush()
                    return
        except OSError:
            time.sleep(0.05)


def announce_when_ready(port: int, label: str) -> None:
    """Print ``[label] listening on http://127.0.0.1:PORT`` (stderr) once /health answers."""
    threading.Thread(target=_announce, args=(port, label), daemon=True).start()
