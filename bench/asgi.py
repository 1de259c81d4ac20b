"""Call an ASGI app directly, without a server (for in-process profiles)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

Sink = Callable[[float, bytes], None]


def _scope(method: str, path: str, query: str, body: bytes) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
        "extensions": {},
    }


async def call(
    app: Any,
    method: str,
    path: str,
    *,
    query: str = "",
    body: bytes = b"",
    sink: Sink | None = None,
) -> tuple[int, bytes]:
    """One request; the status and the whole body (``sink`` also sees each body chunk)."""
    scope = _scope(method, path, query, body)
    sent = False
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:  # like a server: no disconnect until the response is complete
            await finished.wait()
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 0
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            if sink is not None and chunk:
                sink(time.time(), chunk)
            chunks.append(chunk)
            if not message.get("more_body", False):
                finished.set()

    await app(scope, receive, send)
    return status, b"".join(chunks)
