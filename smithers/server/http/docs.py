"""OpenAPI documentation of error responses and request bodies."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIType,
    Reference,
    RequestBody,
    Schema,
)

from smithers.errors import SmithersError
from smithers.server.http.errors import STATUS_BY_ERROR, codes_of
from smithers.server.http.wire import ErrorBody

__all__ = ["ERROR_CODES", "add_request_bodies", "documented", "drop_inferred_errors"]


def _error_codes() -> dict[int, str]:
    """Per status of ``STATUS_BY_ERROR``: the codes its errors may carry."""
    kinds: dict[int, list[type[SmithersError]]] = {}
    for kind, status in STATUS_BY_ERROR:
        kinds.setdefault(status, []).append(kind)
    described: dict[int, str] = {}
    for status, of_status in kinds.items():
        codes = list(dict.fromkeys(code for kind in of_status for code in codes_of(kind)))
        if len(codes) == 1:
            described[status] = f"{codes[0]}: {(of_status[0].__doc__ or '').strip()}"
        else:
            described[status] = f"{', '.join(codes[:-1])} or {codes[-1]}"
    return described


ERROR_CODES: dict[int, str] = _error_codes()
"""Every error status the server documents; 401, 405 and 500 apply to every route, 408 to
every route that reads a body."""

_EVERYWHERE = (401, 405, 500)


def documented(*statuses: int, public: bool = False) -> dict[int, ResponseSpec]:
    """Error responses of a route: the given statuses plus those every route may answer.

    A ``public`` route (``/health``) is answered before authentication, so it never gives 401.
    """
    everywhere = {*_EVERYWHERE} - {401} if public else {*_EVERYWHERE}
    if 413 in statuses:  # a route that reads a body is also timed while reading it
        everywhere.add(408)
    return {
        status: ResponseSpec(
            data_container=ErrorBody, description=ERROR_CODES[status], generate_examples=False
        )
        for status in sorted({*statuses, *everywhere})
    }


def drop_inferred_errors(openapi: OpenAPI) -> None:
    """Drop the error responses Litestar infers by itself (a 400 for any path parameter).

    No route answers them: every error a route can give is declared with ``documented``.
    """
    declared = set(ERROR_CODES.values())
    for item in (openapi.paths or {}).values():
        for method in ("get", "post", "put", "patch", "delete", "head", "options", "trace"):
            operation = getattr(item, method, None)
            if operation is None or not operation.responses:
                continue
            for status, response in list(operation.responses.items()):
                if int(status) >= 400 and getattr(response, "description", None) not in declared:
                    del operation.responses[status]


def add_request_bodies(
    openapi: OpenAPI, bodies: dict[tuple[str, str], type[msgspec.Struct]]
) -> None:
    """Document the JSON bodies the handlers parse themselves (for exact error messages).

    No request field may be ``null`` (signal ``data`` is any JSON: its schema is ``{}``).
    """
    _, components = msgspec.json.schema_components(
        list(bodies.values()), ref_template="#/components/schemas/{name}"
    )
    schemas = openapi.components.schemas
    for name, component in components.items():
        converted = _schema(component)
        if isinstance(converted, Schema):
            schemas[name] = converted
    for (method, path), struct in bodies.items():
        item = (openapi.paths or {}).get(path)
        operation = getattr(item, method.lower(), None) if item is not None else None
        if operation is None:
            continue
        operation.request_body = RequestBody(
            content={
                "application/json": OpenAPIMediaType(
                    schema=Reference(ref=f"#/components/schemas/{struct.__name__}")
                )
            },
            required=False,
            description="A JSON object; an empty body means {}.",
        )


_KEYS = {
    "anyOf": "any_of",
    "oneOf": "one_of",
    "allOf": "all_of",
    "additionalProperties": "additional_properties",
    "minLength": "min_length",
    "maxLength": "max_length",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
    "minItems": "min_items",
    "maxItems": "max_items",
}
_PLAIN = {
    "required",
    "enum",
    "title",
    "description",
    "default",
    "minimum",
    "maximum",
    "format",
    "pattern",
    "const",
}


def _without_null(node: dict[str, Any]) -> dict[str, Any]:
    """``X | None`` of a request field means "absent or X": ``null`` itself is refused."""
    members = node.get("anyOf")
    if members is not None:
        kept = [m for m in members if m != {"type": "null"}]
        if len(kept) == 1:
            return {**{k: v for k, v in node.items() if k != "anyOf"}, **kept[0]}
        return {**node, "anyOf": kept}
    return node


def _schema(node: dict[str, Any]) -> Schema | Reference:
    node = _without_null(node)
    if "$ref" in node:
        return Reference(ref=node["$ref"])
    kwargs: dict[str, Any] = {}
    for key, value in node.items():
        if key == "type":
            kwargs["type"] = (
                [OpenAPIType(v) for v in value] if isinstance(value, list) else OpenAPIType(value)
            )
        elif key == "properties":
            kwargs["properties"] = {k: _schema(v) for k, v in value.items()}
        elif key == "items":
            kwargs["items"] = _schema(value)
        elif key in ("anyOf", "oneOf", "allOf"):
            kwargs[_KEYS[key]] = [_schema(v) for v in value]
        elif key == "additionalProperties":
            kwargs["additional_properties"] = value if isinstance(value, bool) else _schema(value)
        elif key in _KEYS:
            kwargs[_KEYS[key]] = value
        elif key in _PLAIN:
            kwargs[key] = value
    return Schema(**kwargs)
