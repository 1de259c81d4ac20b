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
from smithers.secrets import redact

__all__ = [
    "STATUS_BY_ERROR",
    "DatabaseUnavailable",
    "MethodNotAllowed",
    "RouteNotFound",
    "ServerError",
    "Unauthorized",
    "codes_of",
    "envelope",
    "error_answer",
    "error_response",
    "exception_handlers",
]

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

    def __init__(self, allow: str) -> None:
        self.allow = allow
        """The ``Allow`` header: the methods the path serves."""
        super().__init__()


class ServerError(SmithersError):
    """Anything unexpected"""

    code = "SERVER_ERROR"


class DatabaseUnavailable(ServerError):
    """The database cannot be opened"""

    # A 500 all the same: the server's setup or a workflow's ``db=`` is at fault, not the
    # request. ``ServerContext`` logs it as one line, without a traceback.


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
    (ServerError, 500),
)
"""The HTTP status of each error (the first class the error is an instance of)."""

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


def codes_of(kind: type[SmithersError]) -> list[str]:
    """The codes an error of ``kind`` may carry: its own and its subclasses', in order."""
    codes: list[str] = []
    for cls in (kind, *_subclasses(kind)):
        if "code" in vars(cls) and cls.code not in codes:
            codes.append(cls.code)
    return codes


def _subclasses(kind: type[SmithersError]) -> list[type[SmithersError]]:
    found: list[type[SmithersError]] = []
    for sub in kind.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def error_answer(exc: SmithersError, root: Path | None = None) -> tuple[int, bytes, dict[str, str]]:
    """The status, JSON envelope and extra headers of the answer to ``exc``.

    ``root``: the server's root directory, hidden from the messages that may name it.
    """
    headers: dict[str, str] = {}
    if isinstance(exc, PayloadTooLarge | BodyReadTimeout):
        # The rest of the body is never read, so the connection cannot be reused: say so.
        headers["Connection"] = "close"
    elif isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, MethodNotAllowed):
        headers["Allow"] = exc.allow
    message = exc.message
    if isinstance(exc, WorkflowLoadError | ServerError):  # exception text may name its files
        message = without_server_paths(redact(message), root)
    return status_of(exc), envelope(exc.code, message, exc.details), headers


def error_response(
    exc: SmithersError, root: Path | None = None, *, status: int | None = None
) -> Response[bytes]:
    """The JSON error response to ``exc``, with the standard headers (``status`` replaces the
    one of the table)."""
    table_status, body, headers = error_answer(exc, root)
    return Response(
        body,
        status_code=status or table_status,
        media_type="application/json",
        headers={**JSON_HEADERS, **headers},
    )


def _root_of(request: Request[Any, Any, Any]) -> Path | None:
    context = request.app.state.get("smithers")
    root: Path | None = getattr(getattr(context, "settings", None), "root_dir", None)
    return root


def _smithers_error(request: Request[Any, Any, Any], exc: SmithersError) -> Response[bytes]:
    return error_response(exc, _root_of(request))


def _not_found(_: Request[Any, Any, Any], exc: NotFoundException) -> Response[bytes]:
    return error_response(RouteNotFound())


def _method_not_allowed(
    _: Request[Any, Any, Any], exc: MethodNotAllowedException
) -> Response[bytes]:
    allow = (exc.headers or {}).get("allow", "")
    methods = [m.strip() for m in allow.split(",") if m.strip() and m.strip() != "OPTIONS"]
    return error_response(MethodNotAllowed(", ".join(methods)))


def _http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if exc.status_code >= 500:
        return error_response(ServerError(str(exc.detail)))
    return error_response(InvalidRequest(str(exc.detail)), status=exc.status_code)


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
    return error_response(ServerError(str(exc) or type(exc).__name__), _root_of(request))


exception_handlers: dict[type[Exception] | int, Any] = {
    SmithersError: _smithers_error,
    NotFoundException: _not_found,
    MethodNotAllowedException: _method_not_allowed,
    HTTPException: _http_exception,
    Exception: _unexpected,
}
