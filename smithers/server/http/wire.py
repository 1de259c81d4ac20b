"""Response bodies (msgspec Structs, camelCase on the wire); requests are in ``inputs``."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

__all__ = [
    "ApprovalList",
    "ApprovalView",
    "CancelResponse",
    "DecisionResponse",
    "ErrorBody",
    "FrameView",
    "Health",
    "ResumeResponse",
    "RunListItem",
    "RunView",
    "SignalResponse",
    "StartRunResponse",
    "Wire",
    "from_row",
]

W = TypeVar("W", bound=msgspec.Struct)


def from_row(kind: type[W], row: msgspec.Struct, **given: Any) -> W:
    """A ``kind`` body of a store row: each of its fields from ``given``, else the row's field of
    that name. The body's fields are the only list of what reaches the wire: a column added to
    the table stays off it until a body names it."""
    fields = kind.__struct_fields__
    return kind(**{name: given[name] if name in given else getattr(row, name) for name in fields})


class Wire(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=True):
    """Base of wire bodies."""


# --- responses ---------------------------------------------------------------------------


class Health(msgspec.Struct):
    """``GET /health``."""

    ok: bool = True
    sandbox: str | UnsetType = UNSET
    """``none`` when the server runs bash tool commands unconfined (``--sandbox none``)."""


class ErrorDetail(msgspec.Struct, omit_defaults=True):
    """The error inside the envelope."""

    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorBody(msgspec.Struct):
    """The error envelope of every error response."""

    error: ErrorDetail


class StartRunResponse(Wire):
    """A run id."""

    run_id: str


class ResumeResponse(Wire):
    """A run id, and ``status: "running"`` when the run was already active."""

    run_id: str
    status: str | None = None


class CancelResponse(Wire):
    """The cancelled run."""

    run_id: str


class RunView(msgspec.Struct, rename="camel", kw_only=True):
    """``GET /v1/runs/{runId}``."""

    run_id: str
    workflow_name: str
    status: str
    created_at_ms: int
    started_at_ms: int | None
    finished_at_ms: int | None
    heartbeat_at_ms: int | None
    summary: dict[str, int]
    error: Any


class RunListItem(msgspec.Struct, rename="camel", kw_only=True):
    """One run of ``GET /v1/runs``: the fields of the run row that http-api.md lists, no more
    (JSON columns stay strings; ``configJson`` names the owning database by a URL without its
    password)."""

    run_id: str
    parent_run_id: str | None
    workflow_name: str
    workflow_path: str | None
    workflow_hash: str | None
    status: str
    created_at_ms: int
    started_at_ms: int | None
    finished_at_ms: int | None
    heartbeat_at_ms: int | None
    runtime_owner_id: str | None
    cancel_requested_at_ms: int | None
    hijack_requested_at_ms: int | None
    hijack_target: str | None
    vcs_type: str | None
    vcs_root: str | None
    vcs_revision: str | None
    error_json: str | None
    config_json: str | None


class FrameView(msgspec.Struct, rename="camel", kw_only=True):
    """One frame of ``GET /v1/runs/{runId}/frames``."""

    run_id: str
    frame_no: int
    created_at_ms: int
    xml_json: str
    xml_hash: str
    encoding: str
    mounted_task_ids_json: str | None
    task_index_json: str | None
    note: str | None


class DecisionResponse(msgspec.Struct, rename="camel", kw_only=True):
    """The recorded decision."""

    run_id: str
    node_id: str
    iteration: int
    status: str


class SignalResponse(msgspec.Struct, rename="camel", kw_only=True):
    """The stored signal."""

    delivered: bool
    run_id: str
    seq: int
    signal_name: str
    correlation_id: str | None
    received_at_ms: int


class ApprovalView(msgspec.Struct, rename="camel", kw_only=True):
    """One pending approval."""

    run_id: str
    node_id: str
    iteration: int
    workflow_name: str
    run_status: str | None
    label: str
    request_title: str
    request_summary: str | None
    requested_at_ms: int | None
    waiting_ms: int
    note: str | None
    decided_by: str | None


class ApprovalList(msgspec.Struct):
    """``GET /v1/approvals``."""

    approvals: list[ApprovalView]


class AttemptView(msgspec.Struct, rename="camel", kw_only=True):
    """One attempt of a node (``GET /v1/runs/{runId}/nodes``)."""

    attempt: int
    state: str
    started_at_ms: int
    finished_at_ms: int | None
    heartbeat_at_ms: int | None
    error: Any
    """The attempt's error (``{name, message, code?}``), ``null`` unless it failed."""
    cached: bool


class NodeView(msgspec.Struct, rename="camel", kw_only=True):
    """One node (one iteration of it) of a run, with its attempts."""

    node_id: str
    iteration: int
    state: str
    label: str | None
    last_attempt: int | None
    updated_at_ms: int
    attempts: list[AttemptView]
    output: Any
    """The node's output as JSON (``null`` while it has none)."""


class ToolCallView(msgspec.Struct, rename="camel", kw_only=True):
    """One tool call of a run (``GET /v1/runs/{runId}/tool-calls``)."""

    node_id: str
    iteration: int
    attempt: int
    call_id: str
    seq: int
    tool: str
    status: str
    """``in-progress``, ``ok``, ``error`` or ``interrupted``."""
    input: Any
    output: Any
    error: Any
    started_at_ms: int
    finished_at_ms: int | None


class RunInput(msgspec.Struct, rename="camel", kw_only=True):
    """``GET /v1/runs/{runId}/input``: the input the run was started with."""

    run_id: str
    input: Any


class TurnView(msgspec.Struct, rename="camel", kw_only=True):
    """One committed turn of an agent's conversation (``GET /v1/runs/{runId}/transcript``)."""

    node_id: str
    iteration: int
    attempt: int
    turn: int
    role: str
    """``user``, ``assistant``, ``tool`` (the answers to a turn's tool calls) or ``session``
    (a coding CLI's session id)."""
    content: Any
    usage: Any
    """The turn's token usage (assistant turns), else ``null``."""
    created_at_ms: int


class RunCounts(msgspec.Struct, rename="camel", kw_only=True):
    """``GET /v1/run-counts``: how many runs have each status."""

    total: int
    by_status: dict[str, int]
