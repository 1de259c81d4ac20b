"""What the Smithers HTTP API answers, decoded into msgspec Structs (snake_case in Python).

These mirror the server's wire bodies without importing the server (and its web framework);
unknown fields are ignored so that a newer server stays readable.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "Attempt",
    "Decision",
    "Frame",
    "Health",
    "Node",
    "PendingApproval",
    "ResumeResult",
    "Run",
    "RunCounts",
    "RunEvent",
    "RunInput",
    "RunRecord",
    "RunRef",
    "SignalReceipt",
    "ToolCall",
    "Turn",
]


class _Body(msgspec.Struct, rename="camel"):
    """Base of response bodies: camelCase on the wire."""


class Health(msgspec.Struct):
    """``GET /health``."""

    ok: bool


class RunRef(_Body):
    """A run id: the answer of start and cancel."""

    run_id: str


class ResumeResult(_Body):
    """The answer of resume; ``status`` is ``"running"`` when the run was already active."""

    run_id: str
    status: str | None = None


class Run(_Body):
    """``GET /v1/runs/{runId}``: status, timestamps (epoch ms), node counts and error."""

    run_id: str
    workflow_name: str
    status: str
    created_at_ms: int
    started_at_ms: int | None = None
    finished_at_ms: int | None = None
    heartbeat_at_ms: int | None = None
    summary: dict[str, int] = msgspec.field(default_factory=dict)
    error: Any = None


class RunRecord(_Body):
    """One run of ``GET /v1/runs``: the stored row (``error_json``, ``config_json``: JSON text)."""

    run_id: str
    workflow_name: str
    status: str
    created_at_ms: int
    parent_run_id: str | None = None
    workflow_path: str | None = None
    workflow_hash: str | None = None
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


class Frame(_Body):
    """One render frame of a run; ``xml_json`` is the rendered tree as JSON text."""

    run_id: str
    frame_no: int
    created_at_ms: int
    xml_json: str
    xml_hash: str
    encoding: str
    mounted_task_ids_json: str | None = None
    task_index_json: str | None = None
    note: str | None = None


class Decision(_Body):
    """A recorded approval decision (``status`` is ``"approved"`` or ``"denied"``)."""

    run_id: str
    node_id: str
    iteration: int
    status: str


class SignalReceipt(_Body):
    """A stored signal; ``delivered`` tells whether a node was waiting for it."""

    delivered: bool
    run_id: str
    seq: int
    signal_name: str
    received_at_ms: int
    correlation_id: str | None = None


class PendingApproval(_Body):
    """One approval still waiting for a decision."""

    run_id: str
    node_id: str
    iteration: int
    workflow_name: str
    label: str
    request_title: str
    waiting_ms: int
    run_status: str | None = None
    request_summary: str | None = None
    requested_at_ms: int | None = None
    note: str | None = None
    decided_by: str | None = None


class ApprovalList(msgspec.Struct):
    """``GET /v1/approvals``."""

    approvals: list[PendingApproval]


class RunEvent(msgspec.Struct, frozen=True):
    """One event of a run's stream: its ``seq``, its ``type`` and the stored event JSON."""

    seq: int
    type: str
    data: dict[str, Any]


class Attempt(_Body):
    """One attempt of a node."""

    attempt: int
    state: str
    started_at_ms: int
    finished_at_ms: int | None = None
    heartbeat_at_ms: int | None = None
    error: Any = None
    cached: bool = False


class Node(_Body):
    """One node (one iteration of it) of a run: ``GET /v1/runs/{runId}/nodes``."""

    node_id: str
    iteration: int
    state: str
    updated_at_ms: int
    attempts: list[Attempt]
    label: str | None = None
    last_attempt: int | None = None
    output: Any = None


class ToolCall(_Body):
    """One tool call of a run: ``GET /v1/runs/{runId}/tool-calls``."""

    node_id: str
    iteration: int
    attempt: int
    call_id: str
    seq: int
    tool: str
    status: str
    started_at_ms: int
    input: Any = None
    output: Any = None
    error: Any = None
    finished_at_ms: int | None = None


class Turn(_Body):
    """One committed turn of an agent's conversation: ``GET /v1/runs/{runId}/transcript``."""

    node_id: str
    iteration: int
    attempt: int
    turn: int
    role: str
    created_at_ms: int
    content: Any = None
    usage: Any = None


class RunCounts(_Body):
    """``GET /v1/run-counts``."""

    total: int
    by_status: dict[str, int]


class RunInput(_Body):
    """``GET /v1/runs/{runId}/input``."""

    run_id: str
    input: Any = None
