"""The writes of the nodes that wait: approvals, timers and signal waits.

Each function adds one state change of such a node to a ``Change`` (rows and events).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from smithers.authoring.durations import seconds
from smithers.authoring.nodes import Approval, ApprovalDecision, Signal, Timer
from smithers.engine import events as ev
from smithers.engine.attempts import Output, validate_output
from smithers.engine.run_model import ApprovalInfo, AttemptInfo, NodeInfo
from smithers.engine.tree import Leaf
from smithers.engine.writes import Change, json_text, timer_fires_at
from smithers.errors import ApprovalDenied, SmithersError, TaskTimeout
from smithers.statuses import ApprovalStatus, AttemptState, NodeState
from smithers.store.attempt_meta import ApprovalMeta, SignalMeta, TimerMeta
from smithers.store.outputs import output_table_for
from smithers.store.rows import ApprovalRow

__all__ = [
    "deny_gate",
    "fire_timer",
    "request_approval",
    "resolve_approval",
    "resolve_signal",
    "start_timer",
    "start_wait",
    "time_out_signal",
]


# --- approvals -------------------------------------------------------------------------------


def request_approval(change: Change, leaf: Leaf, info: NodeInfo) -> None:
    """Store a requested approval; the node waits for it."""
    node = leaf.node
    label = leaf.label or leaf.id
    if isinstance(node, Approval):
        request = {"mode": "decision", "title": node.title or label, "summary": node.summary}
    else:
        request = {"mode": "gate", "title": label, "summary": None}
    change.batch.write(
        ApprovalRow(
            run_id=change.run_id,
            node_id=info.node_id,
            iteration=info.iteration,
            status=ApprovalStatus.REQUESTED.value,
            requested_at_ms=change.now,
            request_json=json_text(request),
        )
    )
    key = (info.node_id, info.iteration)
    change.after.append(
        lambda: change.model.approvals.__setitem__(
            key, ApprovalInfo(ApprovalStatus.REQUESTED, change.now)
        )
    )
    info.label = leaf.label
    change.set_node(info, NodeState.WAITING_APPROVAL)
    base = change.base(info)
    change.emit(ev.ApprovalRequested(**base), ev.NodeWaitingApproval(**base))


def deny_gate(change: Change, leaf: Leaf, info: NodeInfo, state: NodeState) -> None:
    """A denied ``needs_approval`` task: skipped (continue_on_fail) or failed, no attempt."""
    change.set_node(info, state)
    if state is NodeState.SKIPPED:
        change.emit(ev.NodeSkipped(**change.base(info)))
    else:
        denied = ApprovalDenied(f"approval of {leaf.id!r} was denied")
        change.emit(ev.NodeFailed(**change.base(info), attempt=0, error=denied.to_json()))


def resolve_approval(change: Change, leaf: Leaf, info: NodeInfo, approval: ApprovalInfo) -> None:
    """An ``Approval`` node takes its decision as output (or fails on a denial to fail on)."""
    node = leaf.node
    assert isinstance(node, Approval)
    approved = approval.status == ApprovalStatus.APPROVED
    attempt_no = info.next_attempt
    change.emit(ev.NodeStarted(**change.base(info), attempt=attempt_no))
    if not approved and node.on_deny == "fail":
        denied = ApprovalDenied(f"approval of {leaf.id!r} was denied")
        attempt = change.add_attempt(
            info, AttemptState.FAILED, ApprovalMeta(), finished=True, error=denied.to_json()
        )
        change.set_node(info, NodeState.FAILED, last_attempt=attempt.attempt)
        change.emit(ev.NodeFailed(**change.base(info), attempt=attempt_no, error=denied.to_json()))
        return
    decision = ApprovalDecision(
        approved=approved,
        note=approval.note,
        decided_by=approval.decided_by,
        decided_at_ms=approval.decided_at_ms or change.now,
    )
    attempt = change.add_attempt(info, AttemptState.FINISHED, ApprovalMeta(), finished=True)
    change.put_output(info, Output(decision, output_table_for(ApprovalDecision)))
    change.set_node(info, NodeState.FINISHED, last_attempt=attempt.attempt)
    change.emit(ev.NodeFinished(**change.base(info), attempt=attempt_no))


# --- timers ----------------------------------------------------------------------------------


def start_timer(change: Change, leaf: Leaf, info: NodeInfo) -> None:
    """Create the timer's attempt; fire at once when already due."""
    node = leaf.node
    assert isinstance(node, Timer)
    first = info.attempts[0] if info.attempts else None
    if first is not None and isinstance(first.meta, TimerMeta):
        fires_at = first.meta.fires_at_ms  # a resumed timer keeps its deadline
    elif node.until_ms is not None:
        fires_at = node.until_ms
    else:
        fires_at = change.now + int((seconds(node.duration) or 0.0) * 1000)
    timer_type: Literal["absolute", "duration"] = (
        "absolute" if node.until_ms is not None else "duration"
    )
    meta = TimerMeta(fires_at_ms=fires_at, timer_type=timer_type)
    attempt = change.add_attempt(info, AttemptState.WAITING_TIMER, meta)
    base = change.base(info)
    change.emit(
        ev.TimerCreated(**base, timer_id=info.node_id, fires_at_ms=fires_at, timer_type=timer_type),
        ev.NodeStarted(**base, attempt=attempt.attempt),
    )
    if fires_at <= change.now:
        fire_timer(change, info, attempt)
    else:
        change.set_node(info, NodeState.WAITING_TIMER, last_attempt=attempt.attempt)
        change.emit(ev.NodeWaitingTimer(**base, fires_at_ms=fires_at))


def fire_timer(change: Change, info: NodeInfo, attempt: AttemptInfo) -> None:
    """The timer is due: it finishes."""
    fires_at = timer_fires_at(attempt, change.now)
    change.emit(
        ev.TimerFired(
            **change.base(info),
            timer_id=info.node_id,
            fires_at_ms=fires_at,
            fired_at_ms=change.now,
            delay_ms=max(0, change.now - fires_at),
        )
    )
    output = {"firesAtMs": fires_at, "firedAtMs": change.now}
    change.finish_attempt(info, attempt, Output(output, None, json_text(output)))


# --- signals ---------------------------------------------------------------------------------


def start_wait(change: Change, leaf: Leaf, info: NodeInfo, after_signal_seq: int) -> None:
    """The node starts waiting for its signal (an attempt in ``waiting-event``)."""
    node = leaf.node
    assert isinstance(node, Signal)
    first = info.attempts[0] if info.attempts else None
    if first is not None and isinstance(first.meta, SignalMeta):
        after_signal_seq = first.meta.after_signal_seq
        timeout_at = first.meta.timeout_at_ms
    else:
        timeout = seconds(node.timeout)
        timeout_at = None if timeout is None else change.now + int(timeout * 1000)
    meta = SignalMeta(
        signal_name=node.name or node.id,
        correlation_id=node.correlation_id,
        after_signal_seq=after_signal_seq,
        timeout_at_ms=timeout_at,
        on_timeout=node.on_timeout,
    )
    attempt = change.add_attempt(info, AttemptState.WAITING_EVENT, meta)
    change.set_node(info, NodeState.WAITING_EVENT, last_attempt=attempt.attempt)
    change.emit(ev.NodeStarted(**change.base(info), attempt=attempt.attempt))


def resolve_signal(
    change: Change, leaf: Leaf, info: NodeInfo, attempt: AttemptInfo, payload: Any, seq: int
) -> None:
    """A matching signal arrived: its data is the output (validated if typed)."""
    node = leaf.node
    assert isinstance(node, Signal)
    assert isinstance(attempt.meta, SignalMeta)
    meta = msgspec.structs.replace(attempt.meta, resolved_signal_seq=seq)
    try:
        output = validate_output(payload, node.output)
    except SmithersError as exc:
        change.end_attempt(info, attempt, AttemptState.FAILED, error=exc.to_json(), meta=meta)
        change.set_node(info, NodeState.FAILED, last_attempt=attempt.attempt)
        change.emit(
            ev.NodeFailed(**change.base(info), attempt=attempt.attempt, error=exc.to_json())
        )
        return
    change.finish_attempt(info, attempt, output, meta)


def time_out_signal(change: Change, leaf: Leaf, info: NodeInfo, attempt: AttemptInfo) -> None:
    """The wait timed out: fail, skip, or continue with output ``None``."""
    node = leaf.node
    assert isinstance(node, Signal)
    if node.on_timeout == "continue":
        change.finish_attempt(info, attempt, Output(None, None, "null"))
    elif node.on_timeout == "skip":
        change.end_attempt(info, attempt, AttemptState.SKIPPED)
        change.set_node(info, NodeState.SKIPPED, last_attempt=attempt.attempt)
        change.emit(ev.NodeSkipped(**change.base(info)))
    else:
        error = TaskTimeout(f"signal {node.name!r} did not arrive in time").to_json()
        change.end_attempt(info, attempt, AttemptState.FAILED, error=error)
        change.set_node(info, NodeState.FAILED, last_attempt=attempt.attempt)
        change.emit(ev.NodeFailed(**change.base(info), attempt=attempt.attempt, error=error))
