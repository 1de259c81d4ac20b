"""What clients send: request bodies and query parameters, and their checks.

Bodies are parsed here rather than by Litestar so that every malformed field gets the exact
message of the HTTP contract, in the contract's order of checks. The request Structs are the
bodies' documentation (the OpenAPI document is generated from them): their constraints
(``Meta``) state what the checks below enforce, and an optional field typed ``X | None``
stands for "absent or X": ``null`` is never accepted (``docs.py`` drops it from the schema).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Request
from msgspec import Meta

from smithers import tracing
from smithers.engine.ids import RUN_ID_PATTERN
from smithers.errors import InvalidRequest
from smithers.server.http.bodies import decode_object
from smithers.server.http.wire import Wire
from smithers.statuses import RunStatus
from smithers.store.run_listing import Cursor

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_LIMIT",
    "DecisionRequest",
    "ResumeRequest",
    "RunConfigBody",
    "SignalRequest",
    "StartRunRequest",
    "parse_decision",
    "parse_resume",
    "parse_signal",
    "parse_start",
    "query_int",
    "query_limit",
    "query_status",
    "read_object",
]

MAX_LIMIT = 1000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The range of integers the server takes: what SQLite stores (64-bit signed)."""
_INT = re.compile(r"-?[0-9]+")
"""A query integer, matched with ``fullmatch``: ``$`` would accept a final newline."""
_INT64_DIGITS = 19
"""No longer digit string fits in 64 bits; checked before ``int()``, which refuses more than
4300 digits with its own error."""
_SHOWN = 64
"""Characters of a raw query value echoed in a message."""


NonEmpty = Annotated[str, Meta(min_length=1)]
RunId = Annotated[str, Meta(pattern=RUN_ID_PATTERN.pattern)]


class RunConfigBody(Wire):
    """Per-run options."""

    max_concurrency: Annotated[int, Meta(ge=1, le=INT64_MAX)] | None = None


class StartRunRequest(Wire):
    """``POST /v1/runs``."""

    workflow_path: NonEmpty
    input: Annotated[
        dict[str, Any], Meta(description="at most 256 KiB encoded, nested at most 16 deep")
    ] = msgspec.field(default_factory=dict)
    run_id: RunId | None = None
    resume: bool = False
    config: RunConfigBody = msgspec.field(default_factory=RunConfigBody)


class ResumeRequest(Wire):
    """``POST /v1/runs/{runId}/resume``."""

    workflow_path: NonEmpty | None = None
    input: dict[str, Any] | None = None
    config: RunConfigBody = msgspec.field(default_factory=RunConfigBody)


class DecisionRequest(Wire):
    """``POST /v1/runs/{runId}/nodes/{nodeId}/approve`` and ``…/deny``."""

    iteration: Annotated[int, Meta(ge=0, le=INT64_MAX)] = 0
    note: str | None = None
    decided_by: str | None = None


class SignalRequest(Wire):
    """``POST /v1/runs/{runId}/signals/{signalName}``."""

    data: Annotated[Any, Meta(description="any JSON, null included")] = msgspec.field(
        default_factory=dict
    )
    correlation_id: str | None = None
    received_by: str | None = None


# --- parsing -----------------------------------------------------------------------------


async def read_object(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The JSON object body (empty means ``{}``); the size limit is enforced while reading."""
    with tracing.body_span() as span:
        raw = await request.body()
        span.set_attribute(tracing.BODY_BYTES, len(raw))
        return decode_object(raw) if raw else {}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _config(body: dict[str, Any]) -> RunConfigBody:
    if "config" not in body:
        return RunConfigBody()
    config = body["config"]
    if not isinstance(config, dict):
        raise InvalidRequest("config must be a JSON object")
    if "maxConcurrency" not in config:
        return RunConfigBody()
    value = config["maxConcurrency"]
    if not _is_int(value) or value < 1:
        raise InvalidRequest("config.maxConcurrency must be a positive number")
    if value > INT64_MAX:
        raise InvalidRequest(f"config.maxConcurrency must be at most {INT64_MAX}")
    return RunConfigBody(max_concurrency=value)


def _input(body: dict[str, Any]) -> dict[str, Any] | None:
    if "input" not in body:
        return None
    value = body["input"]
    if not isinstance(value, dict):
        raise InvalidRequest("input must be a JSON object")
    return value


def _optional_string(body: dict[str, Any], key: str) -> str | None:
    if key not in body:
        return None
    value = body[key]
    if not isinstance(value, str):
        raise InvalidRequest(f"{key} must be a string")
    return value


def parse_start(body: dict[str, Any]) -> StartRunRequest:
    """Check a start body in the contract's order."""
    path = body.get("workflowPath")
    if not isinstance(path, str) or not path:
        raise InvalidRequest("workflowPath must be a string")
    run_input = _input(body)
    config = _config(body)
    run_id = None
    if "runId" in body:
        run_id = body["runId"]
        if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
            raise InvalidRequest(f"runId must be a string matching {RUN_ID_PATTERN.pattern}")
    resume = body.get("resume", False)
    if not isinstance(resume, bool):
        raise InvalidRequest("resume must be a boolean")
    return StartRunRequest(
        workflow_path=path,
        input={} if run_input is None else run_input,
        run_id=run_id,
        resume=resume,
        config=config,
    )


def parse_resume(body: dict[str, Any]) -> ResumeRequest:
    """Check a resume body (every field optional)."""
    path = None
    if "workflowPath" in body:
        path = body["workflowPath"]
        if not isinstance(path, str) or not path:
            raise InvalidRequest("workflowPath must be a string")
    return ResumeRequest(workflow_path=path, input=_input(body), config=_config(body))


def parse_decision(body: dict[str, Any]) -> DecisionRequest:
    """Check an approve/deny body."""
    iteration = body.get("iteration", 0)
    if not _is_int(iteration) or iteration < 0:
        raise InvalidRequest("iteration must be a non-negative integer")
    if iteration > INT64_MAX:
        raise InvalidRequest(f"iteration must be at most {INT64_MAX}")
    return DecisionRequest(
        iteration=iteration,
        note=_optional_string(body, "note"),
        decided_by=_optional_string(body, "decidedBy"),
    )


def parse_signal(body: dict[str, Any]) -> SignalRequest:
    """Check a signal body (``data`` may be any JSON, null included)."""
    return SignalRequest(
        data=body.get("data", {}),
        correlation_id=_optional_string(body, "correlationId"),
        received_by=_optional_string(body, "receivedBy"),
    )


def _shown(raw: str) -> str:
    return raw if len(raw) <= _SHOWN else raw[:_SHOWN] + "…"


def _fits_int64(raw: str) -> bool:
    """Whether ``raw`` is an integer in the 64-bit signed range (digits counted first)."""
    if not _INT.fullmatch(raw) or len(raw.lstrip("-").lstrip("0")) > _INT64_DIGITS:
        return False
    return INT64_MIN <= int(raw) <= INT64_MAX


def query_limit(raw: str | None, default: int = 50) -> int:
    """A ``limit`` query parameter: a positive integer up to 1000."""
    if raw is None:
        return default
    if not _fits_int64(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidRequest(f'Expected a positive integer, got "{_shown(raw)}"')
    return int(raw)


def query_int(raw: str | None, name: str) -> int | None:
    """An integer query parameter (``afterSeq``, ``afterFrameNo``), 64-bit signed."""
    if raw is None:
        return None
    if not _INT.fullmatch(raw):
        raise InvalidRequest(f'Expected an integer, got "{_shown(raw)}"')
    if not _fits_int64(raw):
        raise InvalidRequest(
            f'{name} must be between {INT64_MIN} and {INT64_MAX}, got "{_shown(raw)}"'
        )
    return int(raw)


def query_cursor(raw: str | None) -> Cursor | None:
    """A ``before`` cursor: ``{createdAtMs}:{runId}`` of the last run of a page."""
    if raw is None:
        return None
    created, colon, run_id = raw.partition(":")
    if not colon or not run_id or not created.isdigit() or not _fits_int64(created):
        raise InvalidRequest(f'before must be {{createdAtMs}}:{{runId}}, got "{_shown(raw)}"')
    return Cursor(int(created), run_id)


def query_status(raw: str | None) -> str | None:
    """A run status filter."""
    if raw is None:
        return None
    if raw not in {s.value for s in RunStatus}:
        allowed = ", ".join(s.value for s in RunStatus)
        raise InvalidRequest(f'status must be one of {allowed}, got "{raw}"')
    return raw
