"""What clients send: request bodies and query parameters, and their checks.

Each request body is written once, as a Struct below: the OpenAPI document is generated from
it, and ``parser`` checks a body by it — its fields in their order (the contract's order of
checks), each by its annotation and constraints (``Meta``), with the exact message of the HTTP
contract (Litestar's decoding would word them its own way). An optional field typed
``X | None`` stands for "absent or X": ``null`` is never accepted (``docs.py`` drops it from
the schema). An integer's ``Meta(extra={"expected": …})`` words what its message says it must
be.

Integers are what the document's dialect (OpenAPI 3.1, JSON Schema 2020-12) calls ``integer``:
a whole number. JSON has a single number type, so a body field takes ``454``, ``454.0`` and
``4.54e2`` alike; query parameters and headers are text, where an integer is written in
decimal digits (``-?[0-9]+``), as every client writes one into a URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import msgspec
import msgspec.inspect as mi
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
    "parser",
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
PositiveInt = Annotated[int, Meta(ge=1, le=INT64_MAX, extra={"expected": "a positive number"})]
Count = Annotated[int, Meta(ge=0, le=INT64_MAX, extra={"expected": "a non-negative integer"})]


class RunConfigBody(Wire):
    """Per-run options."""

    max_concurrency: PositiveInt | None = None


class StartRunRequest(Wire):
    """``POST /v1/runs``."""

    workflow_path: NonEmpty
    input: Annotated[
        dict[str, Any], Meta(description="at most 256 KiB encoded, nested at most 16 deep")
    ] = msgspec.field(default_factory=dict)
    config: RunConfigBody = msgspec.field(default_factory=RunConfigBody)
    run_id: RunId | None = None
    resume: bool = False


class ResumeRequest(Wire):
    """``POST /v1/runs/{runId}/resume``."""

    workflow_path: NonEmpty | None = None
    input: dict[str, Any] | None = None
    config: RunConfigBody = msgspec.field(default_factory=RunConfigBody)


class DecisionRequest(Wire):
    """``POST /v1/runs/{runId}/nodes/{nodeId}/approve`` and ``…/deny``."""

    iteration: Count = 0
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


B = TypeVar("B", bound=msgspec.Struct)

_MISSING: Any = object()
"""A required field the body lacks: refused with the message of a wrong value."""

Check = Callable[[Any], Any]
"""A field's check: the value to keep, or ``InvalidRequest`` with the contract's message."""


def _check(name: str, kind: mi.Type) -> Check:
    """The check of the field ``name`` (as the body spells it, ``config.x`` when nested) of
    type ``kind``: what its Struct annotation and ``Meta`` say, with the contract's words."""
    extra: dict[str, Any] = {}
    if isinstance(kind, mi.Metadata):
        extra, kind = kind.extra or {}, kind.type
    if isinstance(kind, mi.UnionType):  # ``X | None``: absent or X, never null
        [kind] = [t for t in kind.types if not isinstance(t, mi.NoneType)]
        return _check(name, kind)
    if isinstance(kind, mi.AnyType):
        return lambda value: value
    if isinstance(kind, mi.BoolType):
        return _typed(name, bool, "a boolean")
    if isinstance(kind, mi.DictType):
        return _typed(name, dict, "a JSON object")
    if isinstance(kind, mi.StructType):
        cls, fields = kind.cls, _fields(kind, f"{name}.")
        wanted = _typed(name, dict, "a JSON object")
        return lambda value: _build(cls, fields, wanted(value))
    if isinstance(kind, mi.StrType):
        return _string(name, kind)
    if isinstance(kind, mi.IntType):
        return _integer(name, kind, extra.get("expected", "an integer"))
    raise TypeError(f"no check for {name}: {kind}")  # pragma: no cover - a new field's type


def _typed(name: str, kind: type, expected: str) -> Check:
    def check(value: Any) -> Any:
        if not isinstance(value, kind):
            raise InvalidRequest(f"{name} must be {expected}")
        return value

    return check


def _string(name: str, kind: mi.StrType) -> Check:
    pattern = None if kind.pattern is None else re.compile(kind.pattern)
    message = f"{name} must be a string" + (f" matching {kind.pattern}" if pattern else "")

    def check(value: Any) -> str:
        if not isinstance(value, str) or len(value) < (kind.min_length or 0):
            raise InvalidRequest(message)
        if pattern is not None and not pattern.fullmatch(value):
            raise InvalidRequest(message)
        return value

    return check


def _integer(name: str, kind: mi.IntType, expected: str) -> Check:
    low = INT64_MIN if kind.ge is None else kind.ge
    high = INT64_MAX if kind.le is None else kind.le

    def check(value: Any) -> int:
        number = _whole(value)
        if number is None or number < low:
            raise InvalidRequest(f"{name} must be {expected}")
        if number > high:
            raise InvalidRequest(f"{name} must be at most {high}")
        return number

    return check


@dataclass(frozen=True, slots=True)
class _Field:
    wire_name: str
    name: str
    required: bool
    check: Check


def _fields(kind: mi.StructType, prefix: str = "") -> list[_Field]:
    """A body's fields in the order they are checked (the Struct's)."""
    return [
        _Field(f.encode_name, f.name, f.required, _check(prefix + f.encode_name, f.type))
        for f in kind.fields
    ]


def _build(cls: type[B], fields: list[_Field], body: dict[str, Any]) -> B:
    given = {}
    for field in fields:
        if field.wire_name in body:
            given[field.name] = field.check(body[field.wire_name])
        elif field.required:
            field.check(_MISSING)  # raises, as for a value of the wrong type
    return cls(**given)


def parser(cls: type[B]) -> Callable[[dict[str, Any]], B]:
    """The check of a JSON object body against the request Struct ``cls``: its fields in their
    order, each by its annotation; unknown fields are ignored, absent ones take their default."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    fields = _fields(info)
    return lambda body: _build(cls, fields, body)


parse_start = parser(StartRunRequest)
parse_resume = parser(ResumeRequest)
parse_decision = parser(DecisionRequest)
parse_signal = parser(SignalRequest)


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
