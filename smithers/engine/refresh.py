"""What other writers change in a run while its loop executes it — approval decisions and
signals — read again when the loop is told (or finds) that events were appended."""

from __future__ import annotations

from typing import Any

import msgspec

from smithers.engine.run_model import ApprovalInfo, Key, RunModel
from smithers.statuses import AttemptState
from smithers.store.attempt_meta import SignalMeta
from smithers.store.store import Store

__all__ = ["read_external"]


async def read_external(store: Store, model: RunModel) -> dict[Key, tuple[Any, int]]:
    """Re-read the run's approvals into ``model`` and return the signals its waiting nodes
    match (node → payload and signal ``seq``); ``model.seen_seq`` moves up to the run's last
    event read before them."""
    run_id = model.run_id
    seen = await store.reads.max_event_seq(run_id)
    approvals = await store.reads.list_approvals(run_id)
    model.approvals = {(a.node_id, a.iteration): ApprovalInfo.of(a) for a in approvals}
    ready: dict[Key, tuple[Any, int]] = {}
    for info in model.nodes.values():
        latest = info.latest
        if latest is None or latest.state != AttemptState.WAITING_EVENT:
            continue
        meta = latest.meta
        if not isinstance(meta, SignalMeta):
            continue
        found = await store.reads.find_signal(
            run_id, meta.signal_name, meta.correlation_id, meta.after_signal_seq
        )
        if found is not None:
            payload = msgspec.json.decode(found.payload_json)
            ready[(info.node_id, info.iteration)] = (payload, found.seq)
    model.seen_seq = max(model.seen_seq, seen)
    return ready
