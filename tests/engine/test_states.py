"""The pure state rules, without a database."""

from __future__ import annotations

import pytest

from smithers import Approval, Signal, Task, Timer
from smithers.engine.run_model import ApprovalInfo, AttemptInfo, NodeInfo
from smithers.engine.states import Action, lasting, verdict
from smithers.engine.tree import Leaf
from smithers.statuses import NodeState
from smithers.store.attempt_meta import AttemptMeta, SignalMeta, TaskMeta, TimerMeta

NOW = 1_000_000


def leaf(node, kind: str) -> Leaf:  # type: ignore[no-untyped-def]
    return Leaf(node, kind, 0, None, None, 0)  # type: ignore[arg-type]


def info(*attempts: AttemptInfo, state: str | None = None, extra: int = 0) -> NodeInfo:
    return NodeInfo("n", 0, state, None, None, "", extra, list(attempts))


def attempt(
    n: int, state: str, finished: int | None = None, meta: AttemptMeta | None = None
) -> AttemptInfo:
    return AttemptInfo(n, state, NOW - 10_000, finished, meta or TaskMeta())


def v(node, kind, node_info=None, approval=None, *, has_output=False, signal=False):  # type: ignore[no-untyped-def]
    return verdict(
        leaf(node, kind),
        node_info or info(),
        approval,
        has_output=has_output,
        signal_ready=signal,
        now=NOW,
    )


def test_task_rules_in_order() -> None:
    task = Task("n", value=1, retries=2, backoff=1)
    assert v(Task("n", value=1, skip_if=True), "task", has_output=True).state is NodeState.SKIPPED
    assert v(task, "task", has_output=True).state is NodeState.FINISHED
    assert v(task, "task", info(attempt(1, "in-progress"))).state is NodeState.IN_PROGRESS
    fresh = v(task, "task")
    assert fresh.state is NodeState.PENDING and fresh.runnable
    waiting = v(task, "task", info(attempt(1, "failed", finished=NOW - 500)))
    assert waiting.retry_wait and waiting.wake_at_ms == NOW + 500 and not waiting.runnable
    ready = v(task, "task", info(attempt(1, "failed", finished=NOW - 1000)))
    assert ready.runnable
    second_wait = v(
        task, "task", info(attempt(1, "failed", NOW - 5000), attempt(2, "failed", NOW - 1000))
    )
    assert second_wait.wake_at_ms == NOW + 1000  # backoff doubles: 2 s after the 2nd failure
    exhausted = info(*(attempt(i, "failed", NOW - 99_000) for i in (1, 2, 3)))
    assert v(task, "task", exhausted).state is NodeState.FAILED
    granted = info(*(attempt(i, "failed", NOW) for i in (1, 2, 3)), extra=1)
    assert v(task, "task", granted).runnable  # a resumed failed run: one more, no backoff
    cancelled_only = info(attempt(1, "cancelled"), attempt(2, "cancelled"))
    assert v(Task("n", value=1), "task", cancelled_only).runnable  # cancelled attempts are free


def test_gate_rules() -> None:
    gate = Task("n", value=1, needs_approval=True)
    assert v(gate, "task").action is Action.REQUEST_APPROVAL
    assert v(gate, "task", approval=ApprovalInfo("requested")).state is NodeState.WAITING_APPROVAL
    assert v(gate, "task", approval=ApprovalInfo("approved")).runnable
    denied = v(gate, "task", approval=ApprovalInfo("denied"))
    assert (denied.state, denied.action) == (NodeState.FAILED, Action.DENY_GATE)
    settled = v(gate, "task", info(state="failed"), ApprovalInfo("denied"))
    assert (settled.state, settled.action) == (NodeState.FAILED, None)
    soft = Task("n", value=1, needs_approval=True, continue_on_fail=True)
    assert v(soft, "task", approval=ApprovalInfo("denied")).state is NodeState.SKIPPED


def test_approval_node_rules() -> None:
    node = Approval("n")
    assert v(node, "approval").action is Action.REQUEST_APPROVAL
    assert (
        v(node, "approval", approval=ApprovalInfo("requested")).state is NodeState.WAITING_APPROVAL
    )
    assert v(node, "approval", approval=ApprovalInfo("denied")).action is Action.RESOLVE_APPROVAL
    failed = info(attempt(1, "failed"))
    assert v(node, "approval", failed, ApprovalInfo("denied")).state is NodeState.FAILED


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        ((), Action.START_TIMER),
        ((attempt(1, "cancelled", meta=TimerMeta(fires_at_ms=NOW + 5)),), Action.START_TIMER),
        ((attempt(1, "waiting-timer", meta=TimerMeta(fires_at_ms=NOW)),), Action.FIRE_TIMER),
        ((attempt(1, "waiting-timer", meta=TimerMeta(fires_at_ms=NOW + 5)),), None),
    ],
)
def test_timer_rules(attempts: tuple[AttemptInfo, ...], expected: Action | None) -> None:
    result = v(Timer("n", duration=1), "timer", info(*attempts))
    assert result.action is expected
    if expected is None:
        assert result.state is NodeState.WAITING_TIMER and result.wake_at_ms == NOW + 5


def test_signal_rules() -> None:
    node = Signal("n", timeout=1)
    assert v(node, "signal").action is Action.START_WAIT
    waiting = info(
        attempt(1, "waiting-event", meta=SignalMeta(signal_name="go", timeout_at_ms=NOW + 100))
    )
    assert v(node, "signal", waiting).wake_at_ms == NOW + 100
    assert v(node, "signal", waiting, signal=True).action is Action.RESOLVE_SIGNAL
    late = info(attempt(1, "waiting-event", meta=SignalMeta(signal_name="go", timeout_at_ms=NOW)))
    assert v(node, "signal", late).action is Action.TIMEOUT_SIGNAL
    assert v(node, "signal", info(attempt(1, "skipped"))).state is NodeState.SKIPPED
    assert v(node, "signal", info(attempt(1, "failed"))).state is NodeState.FAILED
    assert v(node, "signal", info(attempt(1, "failed"), extra=1)).action is Action.START_WAIT


def test_lasting_marks_only_verdicts_nothing_but_a_start_can_change() -> None:
    task = Task("n", value=1, retries=1, backoff=1)
    finished = v(task, "task", has_output=True)
    assert lasting(leaf(task, "task"), info(state="finished"), finished).stable
    assert not lasting(leaf(task, "task"), info(state="in-progress"), finished).stable  # unwritten
    pending = v(task, "task", info(state="pending"))
    assert lasting(leaf(task, "task"), info(state="pending"), pending).stable
    assert not lasting(leaf(task, "task"), info(), pending).stable  # "pending" not written yet
    backing_off = info(attempt(1, "failed", finished=NOW - 500), state="pending")
    assert not lasting(leaf(task, "task"), backing_off, v(task, "task", backing_off)).stable
    gated = Task("n", value=1, needs_approval=True)
    approved = v(gated, "task", info(state="pending"), ApprovalInfo("approved"))
    assert (
        approved.runnable
        and not lasting(leaf(gated, "task"), info(state="pending"), approved).stable
    )
    timer = Timer("n", duration="1s")
    waiting = v(
        timer, "timer", info(attempt(1, "waiting-timer", meta=TimerMeta(fires_at_ms=NOW + 9)))
    )
    assert not lasting(leaf(timer, "timer"), info(state="waiting-timer"), waiting).stable
