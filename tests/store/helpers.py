"""Shared pieces of the store tests."""

from __future__ import annotations


def run_row(run_id: str, **extra: object) -> dict[str, object]:
    """A running run's row with only the required columns (plus ``extra``)."""
    return {
        "run_id": run_id,
        "workflow_name": "w",
        "status": "running",
        "created_at_ms": 1,
        "runtime_owner_id": "me",
        **extra,
    }
