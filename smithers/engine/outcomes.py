"""How one run loop in this process ended."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from smithers.statuses import RunStatus

__all__ = ["LoopEnd", "RunOutcome"]


class LoopEnd(StrEnum):
    """The run's status when the loop ended with one, else why the loop stopped without one.

    The values of the run statuses are those of ``RunStatus``, so ``end in TERMINAL`` and
    ``end in SUSPENDED`` ask the same question as for a stored status.
    """

    FINISHED = RunStatus.FINISHED.value
    FAILED = RunStatus.FAILED.value
    CANCELLED = RunStatus.CANCELLED.value
    WAITING_APPROVAL = RunStatus.WAITING_APPROVAL.value
    WAITING_EVENT = RunStatus.WAITING_EVENT.value
    WAITING_TIMER = RunStatus.WAITING_TIMER.value
    INTERRUPTED = "interrupted"
    """Shutdown: the run stays ``running``, ownerless, for the next process."""
    LOST = "lost"
    """Another process owns the run now; this one wrote nothing more."""
    CRASHED = "crashed"
    """The loop raised; ownership was released so that another claim can continue it."""

    @classmethod
    def of(cls, status: RunStatus) -> LoopEnd:
        """The end that a run status written by the loop stands for."""
        return cls(status.value)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a loop ended, with the run's error when it failed or crashed."""

    status: LoopEnd
    error: Any = None
