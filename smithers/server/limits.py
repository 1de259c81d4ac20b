"""The request body limit: checked before routing reads, enforced while the body is read."""

from __future__ import annotations

from litestar.types import Receive, ReceiveMessage, Scope

from smithers.errors import PayloadTooLarge

__all__ = ["limit_body"]


def limit_body(scope: Scope, receive: Receive, max_bytes: int) -> Receive:
    """A ``receive`` that raises ``PayloadTooLarge`` once the body passes ``max_bytes``.

    A declared ``Content-Length`` above the limit fails on the first read, before any body is
    received; otherwise bytes are counted as they arrive (chunked bodies too), so an oversize
    body is never buffered whole.
    """
    declared: int | None = None
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit():
            declared = int(value)
    received = 0

    async def limited() -> ReceiveMessage:
        nonlocal received
        if declared is not None and declared > max_bytes:
            raise PayloadTooLarge(max_bytes)
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise PayloadTooLarge(max_bytes)
        return message

    return limited
