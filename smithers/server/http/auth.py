"""Bearer-token authentication, checked before routing for every path but ``/health``."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

__all__ = ["authorized"]


def _token_of(value: bytes) -> bytes:
    text = value.strip()
    if text[:7].lower() == b"bearer ":
        return text[7:].strip()
    return text


def authorized(headers: Iterable[tuple[bytes, bytes]], token: str) -> bool:
    """Whether ``Authorization`` or ``x-smithers-key`` carries the token (either is enough)."""
    expected = token.encode()
    ok = False
    for name, value in headers:
        if name in (b"authorization", b"x-smithers-key"):
            # compare every candidate (constant time each) so timing says nothing of which matched
            ok = hmac.compare_digest(_token_of(value), expected) or ok
    return ok
