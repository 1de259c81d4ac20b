"""Approvals (gate and node), signals (correlation, timeouts), timers."""

from __future__ import annotations

import asyncio
import time

import pytest

from smithers.errors import ApprovalNotPending
from tests.helpers import Harness, assert_dense

APPROVALS = """
from smithers import workflow, Task, Sequence, Approval

@workflow("approvals")
def build(ctx):
    return Sequence(
        Approval("ship", title="Ship it?", summary="v2", on_deny={on_deny!r}),
        Task("gated", value="ran", needs_approval=True, continue_on_fail={cof!r}),
        Task("after", lambda t: t.output("ship").approved),
    )
"""


async def test_approval_node_approved_then_gate_approved(db_url: str, write_workflow) -> None:
    path = write_workflow(APPROVALS.format(on_deny="continue", cof=False))
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "waiting-approval"
        row = await h.store.reads.get_run(run_id)
        assert row is not None and row.runtime_owner_id is None and row.heartbeat_at_ms is None
        pending = await h.store.reads.pending_approvals()
        assert [(p["node_id"], p["run_status"]) for p in pending] == [("ship", "waiting-approval")]
        await h.scheduler.decide(
            h.store, run_id, "ship", 0, approved=True, note="ok", decided_by="ann"
        )
        assert await h.status(run_id) == "running"  # woken: awaiting pickup
        outcome = await h.resume(run_id)
        assert outcome.status == "waiting-approval"  # now the gate of "gated"
        await h.scheduler.decide(h.store, run_id, "gated", 0, approved=True)
        outcome = await h.resume(run_id)
        assert outcome.status == "finished"
        decision = await h.store.db.fetch_all(
            __import__("sqlalchemy").text(
                "SELECT approved, note, decided_by FROM approval_decision"
            )
        )
        assert decision == [{"approved": 1, "note": "ok", "decided_by": "ann"}]
        events = await h.events(run_id)
        assert_dense(events)
        types = [e["type"] for e in events]
        assert types.count("ApprovalRequested") == 2 and types.count("ApprovalGranted") == 2
        assert types.count("RunStatusChanged") == 2


async def test_approval_denied_continue_and_gate_denied_with_continue_on_fail(
    sqlite_url: str, write_workflow
) -> None:
    path = write_workflow(APPROVALS.format(on_deny="continue", cof=True))
    async with Harness(sqlite_url) as h:
        run_id, _ = await h.run(path)
        await h.scheduler.decide(h.store, run_id, "ship", 0, approved=False, note="no")
        assert (await h.resume(run_id)).status == "waiting-approval"
        await h.scheduler.decide(h.store, run_id, "gated", 0, approved=False)
        assert (await h.resume(run_id)).status == "finished"
        nodes = await h.nodes(run_id)
        assert nodes[("ship", 0)] == "finished"  # on_deny=continue: output approved=False
        assert nodes[("gated", 0)] == "skipped"
        assert await h.attempts(run_id, "gated") == []  # a denied gate never runs


async def test_approval_denied_fail_and_gate_denied_fail(db_url: str, write_workflow) -> None:
    path = write_workflow(APPROVALS.format(on_deny="fail", cof=False))
    async with Harness(db_url) as h:
        run_id, _ = await h.run(path)
        await h.scheduler.decide(h.store, run_id, "ship", 0, approved=False)
        outcome = await h.resume(run_id)
        assert outcome.status == "failed"
        failed = next(e for e in await h.events(run_id) if e["type"] == "NodeFailed")
        assert failed["nodeId"] == "ship" and failed["error"]["code"] == "APPROVAL_DENIED"

    gate = write_workflow(
        """
        from smithers import workflow, Task
        @workflow("gate")
        def build(ctx):
            return Task("gated", value=1, needs_approval=True)
        """
    )
    async with Harness(db_url) as h:
        run_id, _ = await h.run(gate)
        await h.scheduler.decide(h.store, run_id, "gated", 0, approved=False)
        assert (await h.resume(run_id)).status == "failed"
        assert (await h.nodes(run_id))[("gated", 0)] == "failed"


async def test_decisions_are_idempotent_and_conflicts_refused(
    sqlite_url: str, write_workflow
) -> None:
    path = write_workflow(APPROVALS.format(on_deny="continue", cof=False))
    async with Harness(sqlite_url) as h:
        run_id, _ = await h.run(path)
        with pytest.raises(ApprovalNotPending):
            await h.scheduler.decide(
                h.store, run_id, "gated", 0, approved=True
            )  # not requested yet
        await h.scheduler.decide(h.store, run_id, "ship", 0, approved=True)
        await h.scheduler.decide(h.store, run_id, "ship", 0, approved=True)  # same again: fine
        with pytest.raises(ApprovalNotPending):
            await h.scheduler.decide(h.store, run_id, "ship", 0, approved=False)
        granted = [e for e in await h.events(run_id) if e["type"] == "ApprovalGranted"]
        assert len(granted) == 1


async def test_decision_wakes_run_in_auto_wake_process(db_url: str, write_workflow) -> None:
    path = write_workflow(APPROVALS.format(on_deny="continue", cof=False))
    async with Harness(db_url, auto_wake=True) as h:
        run_id, _ = await h.run(path)
        waiter = asyncio.create_task(h.wait(run_id))
        await h.scheduler.decide(h.store, run_id, "ship", 0, approved=True)
        assert (await waiter).status == "waiting-approval"  # continued by itself to the gate
        waiter = asyncio.create_task(h.wait(run_id))
        await h.scheduler.decide(h.store, run_id, "gated", 0, approved=True)
        assert (await waiter).status == "finished"


SIGNALS = """
import msgspec
from smithers import workflow, Task, Sequence, Signal

class Payment(msgspec.Struct):
    amount: int

@workflow("signals")
def build(ctx):
    return Sequence(
        Signal("paid", name="payment", output=Payment, correlation_id=ctx.input.get("order"),
               timeout={timeout!r}, on_timeout={on_timeout!r}),
        Task("after", lambda t: t.output_maybe("paid")),
    )
"""


async def test_signal_matched_by_correlation_id(db_url: str, write_workflow) -> None:
    path = write_workflow(SIGNALS.format(timeout=None, on_timeout="fail"))
    async with Harness(db_url, auto_wake=True) as h:
        run_id, outcome = await h.run(path, {"order": "o-1"})
        assert outcome.status == "waiting-event"
        other = await h.scheduler.signal(
            h.store, run_id, "payment", {"amount": 1}, correlation_id="o-2"
        )
        assert other.delivered is False and other.seq == 0
        assert await h.status(run_id) == "waiting-event"
        wrong_name = await h.scheduler.signal(h.store, run_id, "refund", {}, correlation_id="o-1")
        assert wrong_name.delivered is False
        waiter = asyncio.create_task(h.wait(run_id))
        matched = await h.scheduler.signal(
            h.store, run_id, "payment", {"amount": 42}, correlation_id="o-1"
        )
        assert matched.delivered is True and matched.seq == 2
        assert (await waiter).status == "finished"
        finished = [e for e in await h.events(run_id) if e["type"] == "NodeFinished"]
        assert [e["nodeId"] for e in finished] == ["paid", "after"]
        rows = await h.store.db.fetch_all(
            __import__("sqlalchemy").text("SELECT node_id, amount FROM payment ORDER BY node_id")
        )
        assert rows == [{"node_id": "after", "amount": 42}, {"node_id": "paid", "amount": 42}]


async def test_signal_sent_before_wait_does_not_count(sqlite_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task, Sequence, Signal
        @workflow("late")
        def build(ctx):
            return Sequence(Task("first", value=1, needs_approval=True), Signal("go"))
        """
    )
    async with Harness(sqlite_url) as h:
        run_id, _ = await h.run(path)
        early = await h.scheduler.signal(h.store, run_id, "go", {"early": True})
        assert early.delivered is False
        await h.scheduler.decide(h.store, run_id, "first", 0, approved=True)
        assert (await h.resume(run_id)).status == "waiting-event"
        await h.scheduler.signal(h.store, run_id, "go", {"late": True})
        assert (await h.resume(run_id)).status == "finished"
        from smithers.authoring.loader import load_workflow  # noqa: F401

        state = await h.store.reads.load_state(run_id)
        assert state is not None
        payloads = [o["payload_json"] for o in state.untyped_outputs if o["node_id"] == "go"]
        assert payloads == ['{"late":true}']


@pytest.mark.parametrize(
    ("on_timeout", "status", "node_state"),
    [
        ("fail", "failed", "failed"),
        ("skip", "finished", "skipped"),
        ("continue", "finished", "finished"),
    ],
)
async def test_signal_timeout(
    db_url: str, write_workflow, on_timeout: str, status: str, node_state: str
) -> None:
    # long enough that a loaded machine still suspends the run before the timeout is due
    path = write_workflow(SIGNALS.format(timeout="1s", on_timeout=on_timeout))
    async with Harness(db_url, auto_wake=True) as h:
        started = time.monotonic()
        run_id, outcome = await h.run(path, {})
        assert outcome.status == "waiting-event"
        row = await h.store.reads.get_run(run_id)
        assert row is not None and row.wake_at_ms is not None
        outcome = await h.wait(run_id)
        assert time.monotonic() - started >= 1.0
        assert outcome.status == status
        assert (await h.nodes(run_id))[("paid", 0)] == node_state
        if on_timeout == "fail":
            failed = next(e for e in await h.events(run_id) if e["type"] == "NodeFailed")
            assert failed["error"]["code"] == "TASK_TIMEOUT"
        if on_timeout == "continue":
            state = await h.store.reads.load_state(run_id)
            assert state is not None
            assert {o["node_id"]: o["payload_json"] for o in state.untyped_outputs} == {
                "paid": "null",
                "after": "null",
            }


async def test_signal_payload_invalid_for_output_type_fails_node(
    sqlite_url: str, write_workflow
) -> None:
    path = write_workflow(SIGNALS.format(timeout=None, on_timeout="fail"))
    async with Harness(sqlite_url, auto_wake=True) as h:
        run_id, _ = await h.run(path, {})
        waiter = asyncio.create_task(h.wait(run_id))
        await h.scheduler.signal(h.store, run_id, "payment", {"amount": "lots"})
        assert (await waiter).status == "failed"
        failed = next(e for e in await h.events(run_id) if e["type"] == "NodeFailed")
        assert failed["error"]["code"] == "INVALID_OUTPUT"


async def test_timer_suspends_and_is_woken(db_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task, Sequence, Timer
        @workflow("timer")
        def build(ctx):
            return Sequence(Task("before", value=1), Timer("nap", duration="300ms"), Task("after", value=2))
        """
    )
    async with Harness(db_url) as h:
        started = time.monotonic()
        run_id, outcome = await h.run(path)
        assert outcome.status == "waiting-timer"
        row = await h.store.reads.get_run(run_id)
        assert row is not None and row.runtime_owner_id is None and row.wake_at_ms is not None
        outcome = await h.wait(run_id)
        assert outcome.status == "finished"
        assert time.monotonic() - started >= 0.3
        types = await h.types(run_id)
        for expected in ("TimerCreated", "NodeWaitingTimer", "TimerFired"):
            assert expected in types
        assert types.count("RunStarted") == 2  # the wake-up re-entered the loop


async def test_timer_due_at_once_and_absolute(sqlite_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from datetime import datetime, timezone
        from smithers import workflow, Sequence, Timer
        @workflow("timers")
        def build(ctx):
            return Sequence(Timer("zero", duration=0), Timer("past", until="2001-01-01T00:00:00Z"))
        """
    )
    async with Harness(sqlite_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "finished"
        assert (await h.types(run_id)).count("TimerFired") == 2


async def test_cancel_of_suspended_run_cancels_timer(db_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Timer
        @workflow("long-timer")
        def build(ctx):
            return Timer("wait", duration="1h")
        """
    )
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "waiting-timer"
        await h.scheduler.cancel_run(h.store, run_id)
        assert await h.status(run_id) == "cancelled"
        types = await h.types(run_id)
        assert types[-3:] == ["TimerCancelled", "NodeCancelled", "RunCancelled"]
        assert await h.attempts(run_id, "wait") == ["cancelled"]
