"""Typed rows of the internal tables: what the store returns, and what a batch writes.

Each table's row is spelled once, here, with the table's column names (``tests/store/
test_rows.py`` holds them to ``schema.py``). A batch writes whole rows (inserted, or upserted
on their key) and, for the three tables whose rows change after they are written (runs,
attempts, tool calls), ``*Update`` rows: the key plus the columns to change, every other
field ``UNSET`` (left as it is). ``smithers.store.statements`` says which table each type
goes to and how it is written.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

__all__ = [
    "ApprovalRow",
    "AttemptRow",
    "AttemptUpdate",
    "EventRow",
    "FrameRow",
    "LoopRow",
    "NodeRow",
    "OutputRow",
    "OutputSchemasRow",
    "RunRow",
    "RunStatusRow",
    "RunUpdate",
    "SignalRow",
    "ToolCallRow",
    "ToolCallUpdate",
    "TranscriptRow",
]


class RunStatusRow(msgspec.Struct, kw_only=True):
    """The columns of a ``_smithers_runs`` row that a run's status shows (and where it lives)."""

    run_id: str
    workflow_name: str
    status: str
    created_at_ms: int
    started_at_ms: int | None = None
    finished_at_ms: int | None = None
    heartbeat_at_ms: int | None = None
    error_json: str | None = None
    config_json: str | None = None

    @classmethod
    def of(cls, row: RunRow) -> RunStatusRow:
        """The status columns of a whole row."""
        return cls(**{name: getattr(row, name) for name in cls.__struct_fields__})


class RunRow(RunStatusRow, kw_only=True):
    """A row of ``_smithers_runs``: the status columns and the rest."""

    parent_run_id: str | None = None
    workflow_path: str | None = None
    workflow_hash: str | None = None
    runtime_owner_id: str | None = None
    cancel_requested_at_ms: int | None = None
    hijack_requested_at_ms: int | None = None
    hijack_target: str | None = None
    vcs_type: str | None = None
    vcs_root: str | None = None
    vcs_revision: str | None = None
    input_json: str | None = None
    updated_at_ms: int | None = None
    wake_at_ms: int | None = None


class RunUpdate(msgspec.Struct, kw_only=True):
    """Columns of a run's row to change (an ``UNSET`` field is left as it is)."""

    run_id: str
    status: str | UnsetType = UNSET
    workflow_name: str | UnsetType = UNSET
    workflow_path: str | UnsetType | None = UNSET
    workflow_hash: str | UnsetType | None = UNSET
    started_at_ms: int | UnsetType | None = UNSET
    finished_at_ms: int | UnsetType | None = UNSET
    heartbeat_at_ms: int | UnsetType | None = UNSET
    runtime_owner_id: str | UnsetType | None = UNSET
    cancel_requested_at_ms: int | UnsetType | None = UNSET
    error_json: str | UnsetType | None = UNSET
    config_json: str | UnsetType | None = UNSET
    updated_at_ms: int | UnsetType | None = UNSET
    wake_at_ms: int | UnsetType | None = UNSET


class _NodeKey(msgspec.Struct, kw_only=True):
    run_id: str
    node_id: str
    iteration: int


class _AttemptKey(_NodeKey, kw_only=True):
    attempt: int


class NodeRow(_NodeKey, kw_only=True):
    """A row of ``_smithers_nodes``."""

    state: str
    last_attempt: int | None
    updated_at_ms: int
    output_table: str
    label: str | None
    extra_attempts: int = 0


class AttemptRow(_AttemptKey, kw_only=True):
    """A row of ``_smithers_attempts``."""

    state: str
    started_at_ms: int
    finished_at_ms: int | None = None
    heartbeat_at_ms: int | None = None
    heartbeat_data_json: str | None = None
    error_json: str | None = None
    cached: int = 0
    meta_json: str | None = None


class AttemptUpdate(_AttemptKey, kw_only=True):
    """Columns of an attempt's row to change (an ``UNSET`` field is left as it is)."""

    state: str | UnsetType = UNSET
    finished_at_ms: int | UnsetType | None = UNSET
    heartbeat_at_ms: int | UnsetType | None = UNSET
    heartbeat_data_json: str | UnsetType | None = UNSET
    error_json: str | UnsetType | None = UNSET
    meta_json: str | UnsetType | None = UNSET


class ApprovalRow(_NodeKey, kw_only=True):
    """A row of ``_smithers_approvals``."""

    status: str
    requested_at_ms: int | None = None
    decided_at_ms: int | None = None
    note: str | None = None
    decided_by: str | None = None
    request_json: str | None = None
    decision_json: str | None = None
    auto_approved: int = 0


class OutputRow(_NodeKey, kw_only=True):
    """A row of ``_smithers_outputs``: an untyped output as JSON text."""

    payload_json: str


class LoopRow(msgspec.Struct, kw_only=True):
    """A row of ``_smithers_ralph``: a loop's current iteration and whether it is done."""

    run_id: str
    ralph_id: str
    iteration: int
    done: int
    updated_at_ms: int


class FrameRow(msgspec.Struct, kw_only=True):
    """A row of ``_smithers_frames``."""

    run_id: str
    frame_no: int
    created_at_ms: int
    xml_json: str
    xml_hash: str
    encoding: str
    mounted_task_ids_json: str | None = None
    task_index_json: str | None = None
    note: str | None = None


class EventRow(msgspec.Struct, kw_only=True):
    """A row of ``_smithers_events``."""

    run_id: str
    seq: int
    timestamp_ms: int
    type: str
    payload_json: str


class SignalRow(msgspec.Struct, kw_only=True):
    """A row of ``_smithers_signals``."""

    run_id: str
    seq: int
    signal_name: str
    correlation_id: str | None
    payload_json: str
    received_at_ms: int
    received_by: str | None = None


class ToolCallRow(_AttemptKey, kw_only=True):
    """A row of ``_smithers_tool_calls``: one tool call of an attempt."""

    call_id: str
    seq: int = 0
    """The call's place among its attempt's calls, in the order they started."""
    tool: str
    input_json: str | None = None
    output_json: str | None = None
    status: str
    error_json: str | None = None
    started_at_ms: int
    finished_at_ms: int | None = None


class ToolCallUpdate(_AttemptKey, kw_only=True):
    """The end of a tool call: columns of its row to change (``UNSET``: left as it is)."""

    call_id: str
    status: str | UnsetType = UNSET
    output_json: str | UnsetType | None = UNSET
    error_json: str | UnsetType | None = UNSET
    finished_at_ms: int | UnsetType | None = UNSET


class TranscriptRow(_AttemptKey, kw_only=True):
    """A row of ``_smithers_transcripts``: one committed turn of an agent's conversation."""

    turn: int
    role: str
    content_json: str
    usage_json: str | None = None
    created_at_ms: int


class OutputSchemasRow(msgspec.Struct, kw_only=True):
    """A row of ``_smithers_output_schemas``: how a run's typed outputs are decoded."""

    run_id: str
    schemas_json: str
    updated_at_ms: int
