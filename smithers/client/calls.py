"""One ``Call`` per route: the request to send and how to read the answer.

The sync and async clients share these, so each route's path, body and response type is
written once; the clients only differ in how they send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import msgspec

from smithers.client.errors import error_from_response
from smithers.client.models import (
    ApprovalList,
    Decision,
    Frame,
    Health,
    Node,
    PendingApproval,
    ResumeResult,
    Run,
    RunCounts,
    RunInput,
    RunRecord,
    RunRef,
    SignalReceipt,
    ToolCall,
    Turn,
)

__all__ = ["DEFAULT_BASE_URL", "Call", "auth_headers", "run_path"]

DEFAULT_BASE_URL = "http://127.0.0.1:7331"
"""Where ``smithers server`` listens by default."""

T = TypeVar("T")

_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """A request and the decoder of its successful (200) answer."""

    method: str
    path: str
    decode: Callable[[bytes], T]
    params: dict[str, str | int] | None = None
    body: dict[str, Any] | None = None

    @property
    def content(self) -> bytes | None:
        """The JSON body, encoded."""
        return None if self.body is None else _encoder.encode(self.body)

    @property
    def headers(self) -> dict[str, str]:
        """Headers of this request beyond the client's own."""
        return {} if self.body is None else {"Content-Type": "application/json"}

    def result(self, status: int, content: bytes) -> T:
        """The decoded answer, or the typed error for an error status."""
        if status != 200:
            raise error_from_response(status, content)
        return self.decode(content)


def auth_headers(token: str | None) -> dict[str, str]:
    """The ``Authorization`` header for a token (none without one)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def run_path(run_id: str, *rest: str) -> str:
    """``/v1/runs/{runId}/…`` with every segment percent-encoded."""
    return "/".join(["/v1/runs", *(quote(part, safe="") for part in (run_id, *rest))])


def _decoder(kind: type[T]) -> Callable[[bytes], T]:
    return msgspec.json.Decoder(kind).decode


def _params(**values: str | int | None) -> dict[str, str | int] | None:
    given = {key: value for key, value in values.items() if value is not None}
    return given or None


def _config(max_concurrency: int | None) -> dict[str, Any]:
    return {} if max_concurrency is None else {"config": {"maxConcurrency": max_concurrency}}


def start_run(
    workflow_path: str,
    input: Mapping[str, Any] | None,
    run_id: str | None,
    resume: bool,
    max_concurrency: int | None,
) -> Call[RunRef]:
    """``POST /v1/runs``."""
    body: dict[str, Any] = {"workflowPath": workflow_path, **_config(max_concurrency)}
    if input is not None:
        body["input"] = dict(input)
    if run_id is not None:
        body["runId"] = run_id
    if resume:
        body["resume"] = True
    return Call("POST", "/v1/runs", _decoder(RunRef), body=body)


def resume_run(
    run_id: str,
    workflow_path: str | None,
    input: Mapping[str, Any] | None,
    max_concurrency: int | None,
) -> Call[ResumeResult]:
    """``POST /v1/runs/{runId}/resume``."""
    body: dict[str, Any] = _config(max_concurrency)
    if workflow_path is not None:
        body["workflowPath"] = workflow_path
    if input is not None:
        body["input"] = dict(input)
    return Call("POST", run_path(run_id, "resume"), _decoder(ResumeResult), body=body)


def cancel_run(run_id: str) -> Call[RunRef]:
    """``POST /v1/runs/{runId}/cancel``."""
    return Call("POST", run_path(run_id, "cancel"), _decoder(RunRef))


def get_run(run_id: str) -> Call[Run]:
    """``GET /v1/runs/{runId}``."""
    return Call("GET", run_path(run_id), _decoder(Run))


def list_runs(
    limit: int | None,
    status: str | None,
    workflow: str | None = None,
    before: RunRecord | None = None,
) -> Call[list[RunRecord]]:
    """``GET /v1/runs`` (``before``: the last run of the previous page)."""
    cursor = None if before is None else f"{before.created_at_ms}:{before.run_id}"
    params = _params(limit=limit, status=status, workflow=workflow, before=cursor)
    return Call("GET", "/v1/runs", _decoder(list[RunRecord]), params)


def run_counts(workflow: str | None) -> Call[RunCounts]:
    """``GET /v1/run-counts``."""
    return Call("GET", "/v1/run-counts", _decoder(RunCounts), _params(workflow=workflow))


def list_nodes(run_id: str) -> Call[list[Node]]:
    """``GET /v1/runs/{runId}/nodes``."""
    return Call("GET", run_path(run_id, "nodes"), _decoder(list[Node]))


def list_tool_calls(run_id: str) -> Call[list[ToolCall]]:
    """``GET /v1/runs/{runId}/tool-calls``."""
    return Call("GET", run_path(run_id, "tool-calls"), _decoder(list[ToolCall]))


def run_input(run_id: str) -> Call[RunInput]:
    """``GET /v1/runs/{runId}/input``."""
    return Call("GET", run_path(run_id, "input"), _decoder(RunInput))


def transcript(run_id: str) -> Call[list[Turn]]:
    """``GET /v1/runs/{runId}/transcript``."""
    return Call("GET", run_path(run_id, "transcript"), _decoder(list[Turn]))


def list_frames(run_id: str, limit: int | None, after_frame_no: int | None) -> Call[list[Frame]]:
    """``GET /v1/runs/{runId}/frames``."""
    params = _params(limit=limit, afterFrameNo=after_frame_no)
    return Call("GET", run_path(run_id, "frames"), _decoder(list[Frame]), params)


def decide(
    run_id: str,
    node_id: str,
    verb: str,
    iteration: int,
    note: str | None,
    decided_by: str | None,
) -> Call[Decision]:
    """``POST /v1/runs/{runId}/nodes/{nodeId}/approve`` (or ``deny``)."""
    body: dict[str, Any] = {"iteration": iteration}
    if note is not None:
        body["note"] = note
    if decided_by is not None:
        body["decidedBy"] = decided_by
    return Call("POST", run_path(run_id, "nodes", node_id, verb), _decoder(Decision), body=body)


def signal(
    run_id: str,
    signal_name: str,
    data: Any,
    correlation_id: str | None,
    received_by: str | None,
) -> Call[SignalReceipt]:
    """``POST /v1/runs/{runId}/signals/{signalName}``."""
    body: dict[str, Any] = {}
    if data is not msgspec.UNSET:
        body["data"] = data
    if correlation_id is not None:
        body["correlationId"] = correlation_id
    if received_by is not None:
        body["receivedBy"] = received_by
    path = run_path(run_id, "signals", signal_name)
    return Call("POST", path, _decoder(SignalReceipt), body=body)


def _approvals(content: bytes) -> list[PendingApproval]:
    return msgspec.json.decode(content, type=ApprovalList).approvals


def list_approvals() -> Call[list[PendingApproval]]:
    """``GET /v1/approvals``."""
    return Call("GET", "/v1/approvals", _approvals)


def health() -> Call[Health]:
    """``GET /health``."""
    return Call("GET", "/health", _decoder(Health))


def metrics() -> Call[str]:
    """``GET /metrics`` (Prometheus text)."""
    return Call("GET", "/metrics", lambda content: content.decode())
