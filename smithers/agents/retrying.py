"""When a model call is tried again: which answers, after how long."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping

__all__ = [
    "MAX_BACKOFF_S",
    "MAX_RETRY_DELAY_S",
    "RETRYABLE_STATUSES",
    "retry_delay_s",
    "server_delay_s",
]

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
"""Rate limits, overloads and server errors; every other status fails the attempt."""

MAX_RETRY_DELAY_S = 60.0
"""The longest wait a server's ``retry-after`` is honoured for."""
MAX_BACKOFF_S = 8.0
"""The longest wait of the backoff without ``retry-after``."""


def retry_delay_s(retry: int) -> float:
    """Exponential backoff with jitter: about 0.5 s, 1 s, 2 s, … (at most 8 s)."""
    base: float = min(MAX_BACKOFF_S, 0.5 * 2**retry)
    return base * (0.75 + random.random() / 2)


def server_delay_s(headers: Mapping[str, str]) -> float | None:
    """The delay a server asks for: ``retry-after-ms``, or ``retry-after`` in seconds or as
    an HTTP date (capped at a minute); ``None`` when it asks for none."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return min(MAX_RETRY_DELAY_S, max(0.0, float(lowered["retry-after-ms"]) / 1000))
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return min(MAX_RETRY_DELAY_S, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return min(MAX_RETRY_DELAY_S, max(0.0, when - time.time()))
