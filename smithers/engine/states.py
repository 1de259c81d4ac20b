"""Pure rules: a mounted node's stored rows → its state now, and what must be written.

No I/O here; ``verdict`` is tested exhaustively without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from smithers.authoring.nodes import Approval, Signal, Task, Timer
from smithers.engine.run_model import ApprovalInfo, NodeInfo
from smithers.engine.tree import Leaf
from smithers.statuses import ApprovalStatus, AttemptState, NodeState
from smithers.store.attempt_meta import SignalMeta, TimerMeta

__all__ = ["FINISHED", "TERMINAL_OK", "Action", "Verdict", "lasting", "verdict"]


class Action(Enum):
    """A write the run loop performs for a node before scheduling."""

    REQUEST_APPROVAL = "request-approval"
    DENY_GATE = "deny-gate"
    RESOLVE_APPROVAL = "resolve-approval"
    START_TIMER = "start-timer"
    FIRE_TIMER = "fire-timer"
    START_WAIT = "start-wait"
    RESOLVE_SIGNAL = "resolve-signal"
    TIMEOUT_SIGNAL = "timeout-signal"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A node's state now; ``action`` is a write to do; ``wake_at_ms`` a time to look again."""

    state: NodeState
    action: Action | None = None
    wake_at_ms: int | None = None
    retry_wait: bool = False
    stable: bool = False
    """The verdict holds, and nothing is left to write for it, until the run loop itself acts
    on the node (starts it): the walk may skip the node while nothing else changed."""

    @property
    def runnable(self) -> bool:
        """Pending and not waiting out a retry backoff."""
        return self.state is NodeState.PENDING and not self.retry_wait


TERMINAL_OK = frozenset({NodeState.FINISHED, NodeState.SKIPPED})
"""States that let a Sequence go on (plus ``failed`` with ``continue_on_fail``)."""

_WAITING_TIMER = Verdict(NodeState.WAITING_TIMER)
FINISHED = Verdict(NodeState.FINISHED)
_FINISHED = FINISHED
_SKIPPED = Verdict(NodeState.SKIPPED)
_FAILED = Verdict(NodeState.FAILED)
_PENDING = Verdict(NodeState.PENDING)
_IN_PROGRESS = Verdict(NodeState.IN_PROGRESS)
_WAITING_APPROVAL = Verdict(NodeState.WAITING_APPROVAL)
_REQUEST = Verdict(NodeState.WAITING_APPROVAL, Action.REQUEST_APPROVAL)


def verdict(
    leaf: Leaf,
    info: NodeInfo,
    approval: ApprovalInfo | None,
    *,
    has_output: bool,
    signal_ready: bool,
    now: int,
) -> Verdict:
    """The state of ``leaf`` given its stored rows, in the engine's rule order."""
    node = leaf.node
    if isinstance(node, Task) and node.skip_if:
        return _SKIPPED
    if has_output:
        return _FINISHED
    if isinstance(node, Timer):
        return _timer(info, now)
    if isinstance(node, Signal):
        return _signal(info, signal_ready, now)
    if isinstance(node, Approval):
        if approval is None:
            return _REQUEST
        if approval.status == ApprovalStatus.REQUESTED:
            return _WAITING_APPROVAL
        if info.failed_count >= 1 + info.extra_attempts:
            return _FAILED
        return Verdict(NodeState.PENDING, Action.RESOLVE_APPROVAL)
    assert isinstance(node, Task)
    if node.needs_approval:
        if approval is None:
            return _REQUEST
        if approval.status == ApprovalStatus.REQUESTED:
            return _WAITING_APPROVAL
        if approval.status == ApprovalStatus.DENIED:
            state = NodeState.SKIPPED if node.continue_on_fail else NodeState.FAILED
            return Verdict(state) if info.state == state else Verdict(state, Action.DENY_GATE)
    return _task(node, info, now)


_STABLE = {
    NodeState.FINISHED: Verdict(NodeState.FINISHED, stable=True),
    NodeState.SKIPPED: Verdict(NodeState.SKIPPED, stable=True),
    NodeState.PENDING: Verdict(NodeState.PENDING, stable=True),
}


def lasting(leaf: Leaf, info: NodeInfo, found: Verdict) -> Verdict:
    """``found`` marked stable when nothing but the run loop starting the node can change it.

    Finished (an output never goes away) and skipped nodes whose stored state already says so;
    a plain task pending in the store with no backoff to wait out and no approval to ask for.
    """
    if found.action is not None or found.wake_at_ms is not None or found.retry_wait:
        return found
    state = found.state
    if state.value != info.state:
        return found
    if state is NodeState.FINISHED or state is NodeState.SKIPPED:
        return _STABLE[state]
    node = leaf.node
    if state is NodeState.PENDING and isinstance(node, Task) and not node.needs_approval:
        return _STABLE[state]
    return found


def _task(node: Task, info: NodeInfo, now: int) -> Verdict:
    if info.in_progress() is not None:
        return _IN_PROGRESS
    failed = info.failed_count
    if failed >= node.retries + 1 + info.extra_attempts:
        return _FAILED
    if failed:
        last_failed = next(a for a in reversed(info.attempts) if a.state == AttemptState.FAILED)
        retry_at = (last_failed.finished_at_ms or last_failed.started_at_ms) + int(
            node.retry_delay(failed) * 1000
        )
        if retry_at > now and info.extra_attempts == 0:
            return Verdict(NodeState.PENDING, wake_at_ms=retry_at, retry_wait=True)
    return _PENDING


def _timer(info: NodeInfo, now: int) -> Verdict:
    latest = info.latest
    if latest is None or latest.state == AttemptState.CANCELLED:
        return Verdict(NodeState.WAITING_TIMER, Action.START_TIMER)
    if latest.state == AttemptState.WAITING_TIMER:
        fires_at = latest.meta.fires_at_ms if isinstance(latest.meta, TimerMeta) else 0
        if fires_at <= now:
            return Verdict(NodeState.FINISHED, Action.FIRE_TIMER)
        return Verdict(NodeState.WAITING_TIMER, wake_at_ms=fires_at)
    if latest.state == AttemptState.FINISHED:
        return Verdict(NodeState.FINISHED, Action.FIRE_TIMER)
    return _WAITING_TIMER


def _signal(info: NodeInfo, signal_ready: bool, now: int) -> Verdict:
    latest = info.latest
    if latest is None or latest.state == AttemptState.CANCELLED:
        return Verdict(NodeState.WAITING_EVENT, Action.START_WAIT)
    if latest.state == AttemptState.WAITING_EVENT:
        if signal_ready:
            return Verdict(NodeState.FINISHED, Action.RESOLVE_SIGNAL)
        timeout_at = latest.meta.timeout_at_ms if isinstance(latest.meta, SignalMeta) else None
        if timeout_at is not None and timeout_at <= now:
            return Verdict(NodeState.WAITING_EVENT, Action.TIMEOUT_SIGNAL)
        return Verdict(NodeState.WAITING_EVENT, wake_at_ms=timeout_at)
    if latest.state == AttemptState.SKIPPED:
        return _SKIPPED
    if latest.state == AttemptState.FAILED:
        if info.failed_count < 1 + info.extra_attempts:
            return Verdict(NodeState.WAITING_EVENT, Action.START_WAIT)
        return _FAILED
    return Verdict(NodeState.WAITING_EVENT, Action.START_WAIT)
