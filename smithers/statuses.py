"""Run, node, attempt and approval statuses, with the sets code asks about."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "FINAL",
    "SUSPENDED",
    "TERMINAL",
    "TERMINAL_EVENTS",
    "ApprovalStatus",
    "AttemptState",
    "NodeState",
    "RunStatus",
]


class RunStatus(StrEnum):
    """Status of a run."""

    RUNNING = "running"
    WAITING_APPROVAL = "waiting-approval"
    WAITING_EVENT = "waiting-event"
    WAITING_TIMER = "waiting-timer"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CONTINUED = "continued"


SUSPENDED: frozenset[str] = frozenset(
    {RunStatus.WAITING_APPROVAL, RunStatus.WAITING_EVENT, RunStatus.WAITING_TIMER}
)
"""Run statuses of a run waiting for something outside it; no process executes it."""

TERMINAL: frozenset[str] = frozenset(
    {RunStatus.FINISHED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.CONTINUED}
)
"""Run statuses a run never leaves by itself (a resume may restart failed and cancelled runs,
never ``FINAL`` ones)."""

FINAL: frozenset[str] = frozenset({RunStatus.FINISHED, RunStatus.CONTINUED})
"""Terminal statuses no resume leaves: the run's work is done and its record is final."""

TERMINAL_EVENTS: frozenset[str] = frozenset({"RunFinished", "RunFailed", "RunCancelled"})
"""Event types that end a run (its last event, unless it is resumed)."""


class NodeState(StrEnum):
    """State of a node (one iteration of it)."""

    PENDING = "pending"
    IN_PROGRESS = "in-progress"
    WAITING_APPROVAL = "waiting-approval"
    WAITING_EVENT = "waiting-event"
    WAITING_TIMER = "waiting-timer"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class AttemptState(StrEnum):
    """State of one attempt of a node; only ``failed`` attempts count toward retries."""

    IN_PROGRESS = "in-progress"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    WAITING_EVENT = "waiting-event"
    WAITING_TIMER = "waiting-timer"
    SKIPPED = "skipped"


class ApprovalStatus(StrEnum):
    """Status of an approval request."""

    REQUESTED = "requested"
    APPROVED = "approved"
    DENIED = "denied"
