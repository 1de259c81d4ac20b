"""The runs a scheduler executes now, one handle each, and what makes a run *active*."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from smithers import tracing
from smithers.engine.outcomes import RunOutcome
from smithers.engine.run_loop import RunLoop
from smithers.statuses import RunStatus
from smithers.store.rows import RunRow
from smithers.store.store import Store

__all__ = ["ACTIVE_HEARTBEAT_MS", "RunHandle", "is_active"]

ACTIVE_HEARTBEAT_MS = 5_000
"""A ``running`` run whose heartbeat is at most this old is active (owned by a live process)."""


@dataclass(eq=False)
class RunHandle:
    """A run this process executes now."""

    run_id: str
    store: Store
    loop: RunLoop
    task: asyncio.Task[RunOutcome] | None = None
    trace: tracing.RunTrace | None = None
    """The span of this execution of the run (tracing on)."""


def is_active(row: RunRow, executing: Mapping[str, RunHandle], now: int) -> bool:
    """Whether a live process (this one, executing ``executing``, or one with a fresh
    heartbeat) executes ``row``."""
    if row.status != RunStatus.RUNNING:
        return False
    if row.run_id in executing:
        return True
    if row.runtime_owner_id is None or row.heartbeat_at_ms is None:
        return False
    return now - row.heartbeat_at_ms <= ACTIVE_HEARTBEAT_MS
