"""Slow clients are cut off: headers and bodies that do not arrive in time close the connection.

A server of its own with one-second read timeouts (``--header-read-timeout``,
``--body-read-timeout``), so that every wait here is bounded and short. Raw sockets on
loopback: an HTTP client would send each request whole.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from contracts.deployment import Deployment, LocalServer
from contracts.paths import concrete
from contracts.test_body_limits import BODY_ROUTES

TIMEOUT = 1.0
"""The read timeouts of the server under test, in seconds."""
GRACE = 3.0
"""How much later than its timeout the server may close a connection."""
CONNECTIONS = 50


@pytest.fixture(scope="module")
def impatient(
    deployment: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """A server with one-second header and body read timeouts."""
    if not deployment.local:
        pytest.skip("starts a server of its own with short read timeouts")
    flags = (f"--header-read-timeout={TIMEOUT}", f"--body-read-timeout={TIMEOUT}")
    server = LocalServer(tmp_path_factory.mktemp("contract-impatient"), flags=flags)
    try:
        yield server.start()
    finally:
        server.stop()


def _connect(deployment: Deployment) -> socket.socket:
    url = urlsplit(deployment.base_url)
    sock = socket.create_connection((url.hostname or "", url.port or 80), timeout=GRACE)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_until_closed(sock: socket.socket, deadline: float) -> bytes:
    """Everything the server sends until it closes the connection (fails at ``deadline``)."""
    received = b""
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            pytest.fail(f"still open after the deadline; received {received[:200]!r}")
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk


def _answered(sock: socket.socket) -> bool:
    """Whether the server has sent something or closed ``sock`` (without waiting)."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def _request_head(deployment: Deployment, method: str, path: str, length: int) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: smithers\r\n"
        f"Authorization: Bearer {deployment.token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def _expect_408(response: bytes) -> None:
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), response[:300]
    assert b"connection: close" in head.lower(), head
    error = json.loads(body)["error"]
    assert error == {
        "code": "REQUEST_TIMEOUT",
        "message": f"Request body not received within {TIMEOUT:g} s",
        "details": {"timeoutSeconds": TIMEOUT},
    }, error


def test_trickled_headers_are_cut_off(impatient: Deployment) -> None:
    sockets = [_connect(impatient) for _ in range(CONNECTIONS)]
    head = _request_head(impatient, "GET", "/v1/runs", 0)
    started = time.monotonic()
    open_ones = dict(enumerate(sockets))
    sent = 0
    while open_ones and time.monotonic() - started < TIMEOUT + GRACE:
        for index, sock in list(open_ones.items()):
            if _answered(sock):
                assert _read_until_closed(sock, time.monotonic() + GRACE) == b""
                del open_ones[index]
                continue
            try:
                sock.send(head[sent % len(head) : sent % len(head) + 1])  # a byte at a time
            except OSError:
                del open_ones[index]
        sent += 1
        time.sleep(0.1)
    for sock in sockets:
        sock.close()
    assert not open_ones, f"{len(open_ones)} trickling connections still open"


def test_an_idle_keep_alive_connection_is_closed(impatient: Deployment) -> None:
    sock = _connect(impatient)
    with sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: smithers\r\n\r\n")
        sock.settimeout(GRACE)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert _read_until_closed(sock, time.monotonic() + TIMEOUT + GRACE) == b""


@pytest.mark.parametrize(
    "path", [pytest.param(p, marks=pytest.mark.contract("POST", p, 408), id=p) for p in BODY_ROUTES]
)
def test_a_body_that_stops_arriving_is_408(impatient: Deployment, path: str) -> None:
    sock = _connect(impatient)
    with sock:
        sock.sendall(_request_head(impatient, "POST", concrete(path), 100) + b"{")
        started = time.monotonic()
        _expect_408(_read_until_closed(sock, started + TIMEOUT + GRACE))
        assert time.monotonic() - started >= TIMEOUT * 0.9


def test_a_trickled_body_is_408(impatient: Deployment) -> None:
    sock = _connect(impatient)
    with sock:
        sock.sendall(_request_head(impatient, "POST", "/v1/runs", 1000))
        started = time.monotonic()
        while not _answered(sock):
            assert time.monotonic() - started < TIMEOUT + GRACE, "the trickle was never cut off"
            sock.send(b" ")  # a byte every 50 ms: never idle, never done
            time.sleep(0.05)
        _expect_408(_read_until_closed(sock, time.monotonic() + GRACE))


def test_the_server_answers_after_slow_clients(impatient: Deployment) -> None:
    sock = _connect(impatient)
    with sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: smithers\r\nConnection: close\r\n\r\n")
        assert _read_until_closed(sock, time.monotonic() + GRACE).startswith(b"HTTP/1.1 200")
