"""The call table: one function per route, with the public signature and docstring of the
client method that sends it, building the request and the decoder of its answer.

``Client`` and ``AsyncClient`` get their route methods from this table (``methods.py``), so
each route's parameters, path, body and answer type are written once; the clients only
differ in how they send.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar
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
P = ParamSpec("P")

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


def _given(**values: Any) -> dict[str, Any]:
    """The body fields that were given (``None`` means absent)."""
    return {key: value for key, value in values.items() if value is not None}


def _config(max_concurrency: int | None) -> dict[str, Any]:
    return {} if max_concurrency is None else {"config": {"maxConcurrency": max_concurrency}}


def start_run(
    workflow_path: str,
    input: Mapping[str, Any] | None = None,
    *,
    run_id: str | None = None,
    resume: bool = False,
    max_concurrency: int | None = None,
) -> Call[RunRef]:
    """Start a run of a workflow file (relative to the server's root), or resume one."""
    body = _given(
        workflowPath=workflow_path,
        **_config(max_concurrency),
        input=None if input is None else dict(input),
        runId=run_id,
        resume=resume or None,
    )
    return Call("POST", "/v1/runs", _decoder(RunRef), body=body)


def resume_run(
    run_id: str,
    *,
    workflow_path: str | None = None,
    input: Mapping[str, Any] | None = None,
    max_concurrency: int | None = None,
) -> Call[ResumeResult]:
    """Continue a run from its last checkpoint (a no-op for a run that is running)."""
    body = _given(
        **_config(max_concurrency),
        workflowPath=workflow_path,
        input=None if input is None else dict(input),
    )
    return Call("POST", run_path(run_id, "resume"), _decoder(ResumeResult), body=body)


def cancel_run(run_id: str) -> Call[RunRef]:
    """Cancel a run that is not terminal yet."""
    return Call("POST", run_path(run_id, "cancel"), _decoder(RunRef))


def get_run(run_id: str) -> Call[Run]:
    """A run's status, timestamps, node counts and error."""
    return Call("GET", run_path(run_id), _decoder(Run))


def list_runs(
    *,
    limit: int | None = None,
    status: str | None = None,
    workflow: str | None = None,
    before: RunRecord | None = None,
) -> Call[list[RunRecord]]:
    """Runs of the server database, newest first; ``before``: the last run of the
    previous page (the runs older than it come next)."""
    cursor = None if before is None else f"{before.created_at_ms}:{before.run_id}"
    params = _params(limit=limit, status=status, workflow=workflow, before=cursor)
    return Call("GET", "/v1/runs", _decoder(list[RunRecord]), params)


def run_counts(*, workflow: str | None = None) -> Call[RunCounts]:
    """How many runs have each status (of one workflow, when given)."""
    return Call("GET", "/v1/run-counts", _decoder(RunCounts), _params(workflow=workflow))


def list_nodes(run_id: str) -> Call[list[Node]]:
    """The run's nodes with their attempts and outputs."""
    return Call("GET", run_path(run_id, "nodes"), _decoder(list[Node]))


def list_tool_calls(run_id: str) -> Call[list[ToolCall]]:
    """The run's tool calls, in the order they started."""
    return Call("GET", run_path(run_id, "tool-calls"), _decoder(list[ToolCall]))


def _input_of(content: bytes) -> Any:
    return msgspec.json.decode(content, type=RunInput).input


def run_input(run_id: str) -> Call[Any]:
    """The input the run was started with."""
    return Call("GET", run_path(run_id, "input"), _input_of)


def transcript(run_id: str) -> Call[list[Turn]]:
    """The committed turns of the run's agent tasks."""
    return Call("GET", run_path(run_id, "transcript"), _decoder(list[Turn]))


def list_frames(
    run_id: str, *, limit: int | None = None, after_frame_no: int | None = None
) -> Call[list[Frame]]:
    """The newest frames (newest first), or those after ``after_frame_no`` (oldest first)."""
    params = _params(limit=limit, afterFrameNo=after_frame_no)
    return Call("GET", run_path(run_id, "frames"), _decoder(list[Frame]), params)


def _decide(
    verb: str,
    run_id: str,
    node_id: str,
    *,
    iteration: int = 0,
    note: str | None = None,
    decided_by: str | None = None,
) -> Call[Decision]:
    body = _given(iteration=iteration, note=note, decidedBy=decided_by)
    return Call("POST", run_path(run_id, "nodes", node_id, verb), _decoder(Decision), body=body)


def _verb(
    decide: Callable[Concatenate[str, P], Call[T]], verb: str, doc: str
) -> Callable[P, Call[T]]:
    """``decide`` with its first argument fixed to ``verb``: the signature of the rest."""

    def call(*args: P.args, **kwargs: P.kwargs) -> Call[T]:
        return decide(verb, *args, **kwargs)

    signature = inspect.signature(decide, eval_str=True)
    call.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values())[1:]
    )
    call.__name__ = call.__qualname__ = verb
    call.__doc__ = doc
    return call


approve = _verb(
    _decide,
    "approve",
    "Approve a node waiting for a decision; a suspended run continues by itself.",
)
deny = _verb(
    _decide, "deny", "Deny a node waiting for a decision; a suspended run continues by itself."
)


def signal(
    run_id: str,
    signal_name: str,
    data: Any = msgspec.UNSET,
    *,
    correlation_id: str | None = None,
    received_by: str | None = None,
) -> Call[SignalReceipt]:
    """Send a signal to a run (``data`` is any JSON; omitted means ``{}``)."""
    body = _given(correlationId=correlation_id, receivedBy=received_by)
    if data is not msgspec.UNSET:
        body = {"data": data, **body}
    path = run_path(run_id, "signals", signal_name)
    return Call("POST", path, _decoder(SignalReceipt), body=body)


def _approvals(content: bytes) -> list[PendingApproval]:
    return msgspec.json.decode(content, type=ApprovalList).approvals


def list_approvals() -> Call[list[PendingApproval]]:
    """Approvals still waiting for a decision, oldest first."""
    return Call("GET", "/v1/approvals", _approvals)


def health() -> Call[Health]:
    """``{"ok": true}`` when the server is up (no token needed)."""
    return Call("GET", "/health", _decoder(Health))


def metrics() -> Call[str]:
    """The Prometheus text exposition."""
    return Call("GET", "/metrics", lambda content: content.decode())
