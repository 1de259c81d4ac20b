"""What a benchmark hands to the report: target rows, a detail table, notes and raw data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.system import load_average


@dataclass
class Target:
    """One line of the summary table."""

    name: str
    measured: str
    target: str
    met: bool | None
    ceiling: str = ""
    ratio: str = ""


@dataclass
class Result:
    """Everything one benchmark measured."""

    key: str
    title: str
    targets: list[Target] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    load_before: list[float] = field(default_factory=load_average)
    load_after: list[float] = field(default_factory=list)
    profiles: dict[str, Any] = field(default_factory=dict)
    """In-process profiles (``bench.profiling``) taken because a target was missed."""
    seconds: float = 0.0
    error: str | None = None
