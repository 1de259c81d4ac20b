"""Medians and spread of repeated measurements."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (pos - low))


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Median, min, max, n and the spread ((max - min) / median, in %) of repeated runs."""
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0, "spread_pct": None}
    median = statistics.median(values)
    low, high = min(values), max(values)
    spread = (high - low) / median * 100 if median else None
    return {
        "median": median,
        "min": low,
        "max": high,
        "n": len(values),
        "spread_pct": spread,
        "values": list(values),
    }


def fmt(value: float | None, digits: int = 1) -> str:
    """A number for a table (thousands separated), or an em dash."""
    if value is None or value != value:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def fmt_summary(s: dict[str, Any], digits: int = 1, unit: str = "") -> str:
    """``median [min–max] (n=…)`` for a summary."""
    if not s or s.get("median") is None:
        return "—"
    unit = f" {unit}" if unit else ""
    return (
        f"{fmt(s['median'], digits)}{unit} "
        f"[{fmt(s['min'], digits)}–{fmt(s['max'], digits)}] (n={s['n']})"
    )
