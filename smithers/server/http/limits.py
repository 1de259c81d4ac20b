"""The request body limits: its size (checked before routing reads, enforced while the body is
read) and the time a client has to send it."""

from __future__ import annotations

import asyncio
import time

from litestar.types import Receive, ReceiveMessage, Scope

from smithers.errors import BodyReadTimeout, PayloadTooLarge

__all__ = ["limit_body"]


def limit_body(scope: Scope, receive: Receive, max_bytes: int, timeout: float) -> Receive:
    """A ``receive`` that raises ``PayloadTooLarge`` once the body passes ``max_bytes``, and
    ``BodyReadTimeout`` when the whole body has not arrived ``timeout`` seconds after the
    first read.

    A declared ``Content-Length`` above the limit fails on the first read, before any body is
    received; otherwise bytes are counted as they arrive (chunked bodies too), so an oversize
    body is never buffered whole. The deadline covers the whole body, not each chunk: a client
    trickling a byte a second would otherwise hold its connection (and a worker's buffer) for
    as long as it likes.
    """
    declared: int | None = None
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit():
            declared = int(value)
    received = 0
    deadline: float | None = None

    async def limited() -> ReceiveMessage:
        nonlocal received, deadline
        if declared is not None and declared > max_bytes:
            raise PayloadTooLarge(max_bytes)
        if deadline is None:
            deadline = time.monotonic() + timeout
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                message = await receive()
        except TimeoutError:
            raise BodyReadTimeout(timeout) from None
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise PayloadTooLarge(max_bytes)
        return message

    return limited
