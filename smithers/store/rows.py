"""Typed rows of the internal tables, as the store returns them."""

from __future__ import annotations

import msgspec

__all__ = [
    "ApprovalRow",
    "AttemptRow",
    "EventRow",
    "FrameRow",
    "NodeRow",
    "RunRow",
    "RunStatusRow",
    "SignalRow",
    "ToolCallRow",
    "TranscriptRow",
]


class RunRow(msgspec.Struct, kw_only=True):
    """A row of ``_smithers_runs``."""

    run_id: str
    parent_run_id: str | None = None
    workflow_name: str
    workflow_path: str | None = None
    workflow_hash: str | None = None
    status: str
    created_at_ms: int
    started_at_ms: int | None = None
    finished_at_ms: int | None = None
    heartbeat_at_ms: int | None = None
    runtime_owner_id: str | None = None
    cancel_requested_at_ms: int | None = None
    hijack_requested_at_ms: int | None = None
    hijack_target: str | None = None
    vcs_type: str | None = None
    vcs_root: str | None = None
    vcs_revision: str | None = None
    error_json: str | None = None
    config_json: str | None = None
    input_json: str | None = None
    updated_at_ms: int | None = None
    wake_at_ms: int | None = None


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


class NodeRow(msgspec.Struct, kw_only=True):
    """A row of ``_smithers_nodes``."""

    run_id: str
    node_id: str
    iteration: int
    state: str
    last_attempt: int | None
    updated_at_ms: int
    output_table: str
    label: str | None
    extra_attempts: int = 0


class AttemptRow(msgspec.Struct, kw_only=True):
    """A row of ``_smithers_attempts``."""

    run_id: str
    node_id: str
    iteration: int
    attempt: int
    state: str
    started_at_ms: int
    finished_at_ms: int | None = None
    heartbeat_at_ms: int | None = None
    heartbeat_data_json: str | None = None
    error_json: str | None = None
    cached: int = 0
    meta_json: str | None = None


class ApprovalRow(msgspec.Struct, kw_only=True):
    """A row of ``_smithers_approvals``."""

    run_id: str
    node_id: str
    iteration: int
    status: str
    requested_at_ms: int | None = None
    decided_at_ms: int | None = None
    note: str | None = None
    decided_by: str | None = None
    request_json: str | None = None
    decision_json: str | None = None
    auto_approved: int = 0


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


class ToolCallRow(msgspec.Struct, kw_only=True):
    """A row of ``_smithers_tool_calls``: one tool call of an attempt."""

    run_id: str
    node_id: str
    iteration: int
    attempt: int
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


class TranscriptRow(msgspec.Struct, kw_only=True):
    """A row of ``_smithers_transcripts``: one committed turn of an agent's conversation."""

    run_id: str
    node_id: str
    iteration: int
    attempt: int
    turn: int
    role: str
    content_json: str
    usage_json: str | None = None
    created_at_ms: int
