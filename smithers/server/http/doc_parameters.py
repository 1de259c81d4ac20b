"""OpenAPI schemas of path, query and header parameters: the values the server accepts.

Handlers take their parameters as raw strings, to answer malformed ones with the contract's
exact messages; Litestar therefore documents each as a nullable free-form string. These
schemas replace them with what the checks in ``inputs`` enforce, so that a client generated
from the document sends only valid values.
"""

from __future__ import annotations

from litestar.openapi.spec import OpenAPI, OpenAPIType, Parameter, Schema

from smithers.engine.ids import RUN_ID_PATTERN
from smithers.server.http.inputs import (
    BEFORE_PATTERN,
    INT64_MAX,
    INT64_MIN,
    MAX_LIMIT,
    MAX_SIGNAL_NAME,
    SIGNAL_NAME_PATTERN,
)
from smithers.statuses import RunStatus

__all__ = ["PARAMETER_SCHEMAS", "describe_parameters"]


def _int64(default: int | None = None) -> Schema:
    return Schema(type=OpenAPIType.INTEGER, minimum=INT64_MIN, maximum=INT64_MAX, default=default)


PARAMETER_SCHEMAS: dict[tuple[str, str], Schema] = {
    ("query", "limit"): Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=MAX_LIMIT, default=50),
    ("query", "afterSeq"): _int64(default=-1),
    ("query", "afterFrameNo"): _int64(),
    ("query", "status"): Schema(type=OpenAPIType.STRING, enum=[s.value for s in RunStatus]),
    ("query", "workflow"): Schema(type=OpenAPIType.STRING),
    # {createdAtMs}:{runId} of the last run of the previous page; createdAtMs at most 2**63-1
    ("query", "before"): Schema(type=OpenAPIType.STRING, pattern=BEFORE_PATTERN),
    ("path", "runId"): Schema(type=OpenAPIType.STRING, pattern=RUN_ID_PATTERN.pattern),
    ("path", "nodeId"): Schema(type=OpenAPIType.STRING, min_length=1),
    # at most 256 characters as sent; trimmed, not empty and without control characters
    ("path", "signalName"): Schema(
        type=OpenAPIType.STRING, max_length=MAX_SIGNAL_NAME, pattern=SIGNAL_NAME_PATTERN
    ),
}

LAST_EVENT_ID = Parameter(
    name="Last-Event-ID",
    param_in="header",
    required=False,
    description="used when afterSeq is absent (how EventSource clients reconnect); checked "
    "either way: a malformed one is a 400 even next to afterSeq",
    schema=_int64(),
)


def describe_parameters(openapi: OpenAPI) -> None:
    """Put the accepted values on every parameter; event streams also take ``Last-Event-ID``."""
    for item in (openapi.paths or {}).values():
        for method in ("get", "post"):
            operation = getattr(item, method, None)
            if operation is None or not operation.parameters:
                continue
            names = set()
            for parameter in operation.parameters:
                if not isinstance(parameter, Parameter):
                    continue
                names.add(parameter.name)
                schema = PARAMETER_SCHEMAS.get((parameter.param_in, parameter.name))
                if schema is not None:
                    parameter.schema = schema
                    parameter.description = parameter.description or schema.description
            if "afterSeq" in names:
                operation.parameters.append(LAST_EVENT_ID)
