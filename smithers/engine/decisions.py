"""Writes that come from outside a run: approval decisions and signals.

Each is one transaction on the locked run row: the decision or signal, its event, and — when
it unblocks a suspended run — the run back to ``running`` with no owner, so that a server
process (or an explicit resume) continues it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from smithers.engine import events as ev
from smithers.errors import ApprovalNotPending
from smithers.statuses import SUSPENDED, TERMINAL, ApprovalStatus, AttemptState, RunStatus
from smithers.store.attempt_meta import SignalMeta, decode_meta
from smithers.store.batch import Batch
from smithers.store.db import Row
from smithers.store.reads import Reads
from smithers.store.rows import RunUpdate, SignalRow
from smithers.store.store import Store

__all__ = ["SignalReceipt", "record_decision", "record_signal"]


@dataclass(frozen=True, slots=True)
class SignalReceipt:
    """A stored signal: its seq, and whether a node waits for it (and the run was woken)."""

    run_id: str
    seq: int
    signal_name: str
    correlation_id: str | None
    received_at_ms: int
    delivered: bool
    woken: bool


def _wake(batch: Batch, run: Row, now: int) -> bool:
    if run["status"] not in SUSPENDED:
        return False
    batch.write(
        RunUpdate(
            run_id=run["run_id"],
            status=RunStatus.RUNNING.value,
            runtime_owner_id=None,
            heartbeat_at_ms=None,
            wake_at_ms=None,
            updated_at_ms=now,
        )
    )
    return True


async def record_decision(
    store: Store,
    run_id: str,
    node_id: str,
    iteration: int,
    approved: bool,
    note: str | None,
    decided_by: str | None,
    now: int,
) -> bool:
    """Record a decision; returns whether it woke a suspended run.

    Repeating the decision already made is accepted and changes nothing; any other decision on
    a node that is not waiting raises ``ApprovalNotPending``.
    """
    status = ApprovalStatus.APPROVED if approved else ApprovalStatus.DENIED
    woken = False

    async def build(reads: Reads, run: Row) -> Batch | None:
        nonlocal woken
        row = await reads.get_approval(run_id, node_id, iteration)
        if row is not None and row.status == status:
            return None
        if row is None or row.status != ApprovalStatus.REQUESTED:
            state = "has no approval request" if row is None else f"was already {row.status}"
            raise ApprovalNotPending(f"Node {node_id} (iteration {iteration}) {state}")
        if run["status"] in TERMINAL:
            raise ApprovalNotPending(
                f"Run {run_id} is {run['status']}; node {node_id} is not waiting"
            )
        decision = {"approved": approved, "note": note, "decidedBy": decided_by}
        decided = msgspec.structs.replace(
            row,
            status=status.value,
            decided_at_ms=now,
            note=note,
            decided_by=decided_by,
            decision_json=msgspec.json.encode(decision).decode(),
        )
        batch = Batch(rows=[decided])
        event = ev.ApprovalGranted if approved else ev.ApprovalDenied
        batch.emit(event(run_id=run_id, timestamp_ms=now, node_id=node_id, iteration=iteration))
        woken = _wake(batch, run, now)
        return batch

    await store.transact(run_id, build)
    return woken


async def record_signal(
    store: Store,
    run_id: str,
    name: str,
    data: Any,
    correlation_id: str | None,
    received_by: str | None,
    now: int,
) -> SignalReceipt:
    """Store a signal; ``delivered`` tells whether a node waits for it (name and correlation)."""
    correlation_id = correlation_id or None
    receipts: list[SignalReceipt] = []

    async def build(reads: Reads, run: Row) -> Batch:
        seq = await reads.max_signal_seq(run_id) + 1
        waiting = await reads.waiting_attempts(run_id, AttemptState.WAITING_EVENT)
        delivered = False
        for attempt in waiting:
            meta = decode_meta(attempt.meta_json)
            if isinstance(meta, SignalMeta) and meta.matches(name, correlation_id):
                delivered = True
        signal = SignalRow(
            run_id=run_id,
            seq=seq,
            signal_name=name,
            correlation_id=correlation_id,
            payload_json=msgspec.json.encode(data).decode(),
            received_at_ms=now,
            received_by=received_by,
        )
        batch = Batch(rows=[signal])
        batch.emit(
            ev.SignalReceived(
                run_id=run_id,
                timestamp_ms=now,
                signal_name=name,
                correlation_id=correlation_id,
                seq=seq,
            )
        )
        woken = delivered and _wake(batch, run, now)
        receipts[:] = [SignalReceipt(run_id, seq, name, correlation_id, now, delivered, woken)]
        return batch

    await store.transact(run_id, build)
    return receipts[0]
