"""Shared pieces of the store tests."""

from __future__ import annotations

from typing import Any

from smithers.store.rows import NodeRow, RunRow


def run_row(run_id: str, **extra: Any) -> RunRow:
    """A running run's row with only the required columns (plus ``extra``)."""
    fields: dict[str, Any] = {
        "workflow_name": "w",
        "status": "running",
        "created_at_ms": 1,
        "runtime_owner_id": "me",
        **extra,
    }
    return RunRow(run_id=run_id, **fields)


def node_row(run_id: str, node_id: str, state: str = "pending") -> NodeRow:
    """A node's row in ``state``, with no attempt yet."""
    return NodeRow(
        run_id=run_id,
        node_id=node_id,
        iteration=0,
        state=state,
        last_attempt=None,
        updated_at_ms=1,
        output_table="",
        label=None,
    )
