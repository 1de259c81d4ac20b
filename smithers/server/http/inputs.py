"""What clients send: request bodies and query parameters, and their checks.

Bodies are parsed here rather than by Litestar so that every malformed field gets the exact
message of the HTTP contract, in the contract's order of checks. The request Structs are the
bodies' documentation (the OpenAPI document is generated from them): their constraints
(``Meta``) state what the checks below enforce, and an optional field typed ``X | None``
stands for "absent or X": ``null`` is never accepted (``docs.py`` drops it from the schema).

Integers are what the document's dialect (OpenAPI 3.1, JSON Schema 2020-12) calls ``integer``:
a whole number. JSON has a single number type, so a body field takes ``454``, ``454.0`` and
``4.54e2`` alike; query parameters and headers are text, where an integer is written in
decimal digits (``-?[0-9]+``), as every client writes one into a URL.
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
    "BEFORE_PATTERN",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_LIMIT",
    "MAX_SIGNAL_NAME",
    "SIGNAL_NAME_PATTERN",
    "DecisionRequest",
    "ResumeRequest",
    "RunConfigBody",
    "SignalRequest",
    "StartRunRequest",
    "header_int",
    "parse_decision",
    "parse_resume",
    "parse_signal",
    "parse_signal_name",
    "parse_start",
    "query_cursor",
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


def _digits_at_most(bound: int) -> str:
    """A regular expression of the decimal digit strings of ``0…bound`` that are at most as long
    as ``bound`` (leading zeros allowed): a pattern can say "at most 2⁶³−1", ``maximum`` only
    applies to numbers. Each alternative keeps the first ``i`` digits of ``bound`` and puts a
    smaller digit at position ``i``; the last is ``bound`` itself."""
    text = str(bound)
    shorter = f"[0-9]{{1,{len(text) - 1}}}" if len(text) > 1 else None
    options = [shorter] if shorter else []
    for i, digit in enumerate(text):
        if digit != "0":
            rest = len(text) - i - 1
            tail = f"[0-9]{{{rest}}}" if rest else ""
            options.append(f"{text[:i]}[0-{int(digit) - 1}]{tail}")
    options.append(text)
    return "(?:" + "|".join(options) + ")"


BEFORE_PATTERN = rf"^{_digits_at_most(INT64_MAX)}:[\s\S]+$"
"""``{createdAtMs}:{runId}``: a time the store can hold (64-bit), a colon, any run id."""
_BEFORE = re.compile(BEFORE_PATTERN)

MAX_SIGNAL_NAME = 256
"""Characters of a signal name as sent (the longest run id is as long)."""
_CONTROL = r"\x00-\x1f\x7f-\x9f"
"""Unicode's control characters (category Cc): never part of a signal name."""
_SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""What ``str.strip()`` trims (``str.isspace``), spelled for JSON Schema's regex dialect too."""
SIGNAL_NAME_PATTERN = (
    f"^[{_SPACE}]*[^{_CONTROL}{_SPACE}](?:[^{_CONTROL}]*[^{_CONTROL}{_SPACE}])?[{_SPACE}]*$"
)
"""A signal name as sent: trimmed, it is not empty and holds no control character."""
_SIGNAL_NAME = re.compile(SIGNAL_NAME_PATTERN)
_HAS_CONTROL = re.compile(f"[{_CONTROL}]")


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


def _whole(value: Any) -> int | None:
    """A JSON number whose value is whole, as an ``int`` (``454.0`` is 454); else ``None``.
    Booleans are not numbers here, whatever Python says."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():  # msgspec gives finite floats only
        return int(value)
    return None


def _config(body: dict[str, Any]) -> RunConfigBody:
    if "config" not in body:
        return RunConfigBody()
    config = body["config"]
    if not isinstance(config, dict):
        raise InvalidRequest("config must be a JSON object")
    if "maxConcurrency" not in config:
        return RunConfigBody()
    value = _whole(config["maxConcurrency"])
    if value is None or value < 1:
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
    iteration = _whole(body.get("iteration", 0))
    if iteration is None or iteration < 0:
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


def header_int(raw: str | None, name: str) -> int | None:
    """An integer header (``Last-Event-ID``): the rules of ``query_int``, messages naming it."""
    if raw is not None and not _INT.fullmatch(raw):
        raise InvalidRequest(f'{name} must be an integer, got "{_shown(raw)}"')
    return query_int(raw, name)


def query_cursor(raw: str | None) -> Cursor | None:
    """A ``before`` cursor: ``{createdAtMs}:{runId}`` of the last run of a page, matched by the
    very pattern the OpenAPI document gives (``BEFORE_PATTERN``)."""
    if raw is None:
        return None
    created, colon, run_id = raw.partition(":")
    if not _BEFORE.fullmatch(raw):
        if colon and run_id and _INT.fullmatch(created) and not created.startswith("-"):
            raise InvalidRequest(
                f"before: createdAtMs must be 0…{INT64_MAX} in at most 19 digits, "
                f'got "{_shown(raw)}"'
            )
        raise InvalidRequest(f'before must be {{createdAtMs}}:{{runId}}, got "{_shown(raw)}"')
    return Cursor(int(created), run_id)


def parse_signal_name(raw: str) -> str:
    """A signal name from its (percent-decoded) path segment, trimmed: at most 256 characters as
    sent, not empty once trimmed, no control character (``SIGNAL_NAME_PATTERN``)."""
    if len(raw) > MAX_SIGNAL_NAME:
        raise InvalidRequest(
            f"signalName must be at most {MAX_SIGNAL_NAME} characters, got {len(raw)}"
        )
    if not _SIGNAL_NAME.fullmatch(raw):
        name = raw.strip()
        if not name:
            raise InvalidRequest("signalName must not be empty")
        found = _HAS_CONTROL.search(name)
        code = ord(found.group()) if found else 0
        raise InvalidRequest(
            f"signalName must not contain control characters (U+0000-U+001F, U+007F-U+009F), "
            f"got U+{code:04X}"
        )
    return raw.strip()


def query_status(raw: str | None) -> str | None:
    """A run status filter."""
    if raw is None:
        return None
    if raw not in {s.value for s in RunStatus}:
        allowed = ", ".join(s.value for s in RunStatus)
        raise InvalidRequest(f'status must be one of {allowed}, got "{raw}"')
    return raw
