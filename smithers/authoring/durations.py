"""Durations and deadlines as workflow authors write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

Duration = int | float | timedelta | str

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")


def parse_duration(value: Duration, *, what: str = "duration") -> float:
    """Seconds from ``10``, ``2.5``, ``timedelta(...)``, or "500ms", "10s", "2m", "1h", "7d"."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a number of seconds, a timedelta or a string like '10s'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str):
        match = _PATTERN.match(value)
        if match is None:
            raise ValueError(
                f"{what} {value!r} is not a duration: use a number with a unit, "
                "like '500ms', '10s', '2m', '1h' or '7d'"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise TypeError(f"{what} must be a number of seconds, a timedelta or a string like '10s'")
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"{what} must be a finite, non-negative duration, got {value!r}")
    return seconds


def seconds(value: Duration | None) -> float | None:
    """A duration field of a built node (always normalised to float seconds) as a float."""
    if value is None:
        return None
    assert isinstance(value, float), "durations are normalised on construction"
    return value


def parse_deadline_ms(value: datetime | str) -> int:
    """Epoch milliseconds from an aware datetime (naive means UTC) or an ISO 8601 string."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"until {value!r} is not an ISO 8601 timestamp") from exc
    if not isinstance(value, datetime):
        raise TypeError("until must be a datetime or an ISO 8601 string")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)
