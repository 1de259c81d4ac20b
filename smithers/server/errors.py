"""The one place that turns errors into HTTP statuses and the error envelope."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
)

from smithers.errors import (
    ApprovalNotPending,
    BodyReadTimeout,
    DbNotConfigured,
    InvalidRequest,
    PayloadTooLarge,
    RunConflict,
    RunNotFound,
    SmithersError,
    WorkflowLoadError,
)

__all__ = ["STATUS_BY_ERROR", "Unauthorized", "envelope", "error_response", "exception_handlers"]

log = logging.getLogger(__name__)

JSON_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class Unauthorized(SmithersError):
    """Missing or invalid authorization token"""

    code = "UNAUTHORIZED"


class RouteNotFound(SmithersError):
    """Route not found"""

    code = "NOT_FOUND"


class MethodNotAllowed(SmithersError):
    """Method not allowed"""

    code = "METHOD_NOT_ALLOWED"


STATUS_BY_ERROR: tuple[tuple[type[SmithersError], int], ...] = (
    (Unauthorized, 401),
    (RouteNotFound, 404),
    (MethodNotAllowed, 405),
    (PayloadTooLarge, 413),
    (BodyReadTimeout, 408),
    (RunNotFound, 404),
    (ApprovalNotPending, 409),
    (RunConflict, 409),
    (DbNotConfigured, 400),
    (WorkflowLoadError, 400),
    (InvalidRequest, 400),
)

_encoder = msgspec.json.Encoder()


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    """``{"error": {"code", "message", "details"?}}`` as JSON bytes."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return _encoder.encode({"error": error})


def status_of(exc: SmithersError) -> int:
    """The HTTP status of a Smithers error."""
    for kind, status in STATUS_BY_ERROR:
        if isinstance(exc, kind):
            return status
    return 500


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None, **headers: str
) -> Response[bytes]:
    """A JSON error response with the standard headers."""
    return Response(
        envelope(code, message, details),
        status_code=status,
        media_type="application/json",
        headers={**JSON_HEADERS, **headers},
    )


def _root_of(request: Request[Any, Any, Any]) -> Path | None:
    context = request.app.state.get("smithers")
    root: Path | None = getattr(getattr(context, "settings", None), "root_dir", None)
    return root


def _smithers_error(request: Request[Any, Any, Any], exc: SmithersError) -> Response[bytes]:
    if isinstance(exc, PayloadTooLarge | BodyReadTimeout):
        # The rest of the body is never read, so the connection cannot be reused: say so.
        return error_response(
            status_of(exc), exc.code, exc.message, exc.details, Connection="close"
        )
    message = exc.message
    if isinstance(exc, WorkflowLoadError):  # a workflow's exception text may name its files
        message = without_server_paths(message, _root_of(request))
    return error_response(status_of(exc), exc.code, message, exc.details)


def _not_found(_: Request[Any, Any, Any], exc: NotFoundException) -> Response[bytes]:
    return error_response(404, "NOT_FOUND", "Route not found")


def _method_not_allowed(
    _: Request[Any, Any, Any], exc: MethodNotAllowedException
) -> Response[bytes]:
    allow = (exc.headers or {}).get("allow", "")
    methods = [m.strip() for m in allow.split(",") if m.strip() and m.strip() != "OPTIONS"]
    return error_response(405, "METHOD_NOT_ALLOWED", "Method not allowed", Allow=", ".join(methods))


def _http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if exc.status_code >= 500:
        return error_response(500, "SERVER_ERROR", str(exc.detail))
    return error_response(exc.status_code, "INVALID_REQUEST", str(exc.detail))


def without_server_paths(message: str, root: Path | None) -> str:
    """``message`` with the server's root directory (as given and resolved) shown as ``<root>``:
    clients name workflow files relative to it and have no business knowing where it is."""
    if root is None:
        return message
    for shown in sorted({str(root), os.path.realpath(root)}, key=len, reverse=True):
        if len(shown) > 1:
            message = message.replace(shown, "<root>")
    return message


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unexpected error answering %s %s", request.method, request.url.path)
    message = without_server_paths(str(exc) or type(exc).__name__, _root_of(request))
    return error_response(500, "SERVER_ERROR", message)


exception_handlers: dict[type[Exception] | int, Any] = {
    SmithersError: _smithers_error,
    NotFoundException: _not_found,
    MethodNotAllowedException: _method_not_allowed,
    HTTPException: _http_exception,
    Exception: _unexpected,
}
