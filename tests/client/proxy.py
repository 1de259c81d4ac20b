"""A loopback TCP proxy that breaks chosen connections partway through the response."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Break:
    """What to do to one connection once ``after`` bytes of the response body went through."""

    after: int
    mode: Literal["close", "stall"] = "close"
    """``close`` resets the connection; ``stall`` keeps it open and sends nothing more."""


@dataclass
class ConnectionLog:
    """What happened to one proxied connection."""

    body_bytes: int = 0
    broken: bool = False


@dataclass
class BreakingProxy:
    """Forwards 127.0.0.1:<port> to ``upstream``; connection *i* suffers ``breaks[i]``."""

    upstream: tuple[str, int]
    breaks: list[Break] = field(default_factory=list)
    connections: list[ConnectionLog] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = [self._listener]
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        """Stop accepting and drop every connection."""
        with self._lock:
            for sock in self._sockets:
                _close(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                index = len(self.connections)
                log = ConnectionLog()
                self.connections.append(log)
                self._sockets += [client, upstream]
            plan = self.breaks[index] if index < len(self.breaks) else None
            threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
            threading.Thread(
                target=self._respond, args=(upstream, client, plan, log), daemon=True
            ).start()

    def _respond(
        self, upstream: socket.socket, client: socket.socket, plan: Break | None, log: ConnectionLog
    ) -> None:
        head = b""
        in_body = False
        while True:
            try:
                data = upstream.recv(65536)
            except OSError:
                data = b""
            if not data:
                _close(client)
                return
            if not in_body:
                head += data
                if b"\r\n\r\n" not in head:
                    _send(client, data)
                    continue
                in_body = True
                header_end = head.index(b"\r\n\r\n") + 4
                body = head[header_end:]
                _send(client, data[: len(data) - len(body)])
                data = body
            if plan is not None and log.body_bytes + len(data) >= plan.after:
                _send(client, data[: plan.after - log.body_bytes])
                log.body_bytes = plan.after
                log.broken = True
                if plan.mode == "close":
                    _close(client)
                    _close(upstream)
                return  # a stall keeps both sockets open until the proxy closes
            log.body_bytes += len(data)
            _send(client, data)


def _pump(source: socket.socket, target: socket.socket) -> None:
    while True:
        try:
            data = source.recv(65536)
        except OSError:
            return
        if not data:
            return
        _send(target, data)


def _send(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
