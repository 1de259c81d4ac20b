"""Errors the Smithers HTTP client raises.

    SmithersClientError                 anything the client reports
    ├── SmithersHTTPError               the server answered an error status (status, code, …)
    │   ├── BadRequestError             400
    │   ├── AuthenticationError         401
    │   ├── NotFoundError               404
    │   ├── ConflictError               409
    │   ├── PayloadTooLargeError        413
    │   └── ServerError                 5xx
    └── EventStreamError                the event stream broke and could not be resumed

Transport failures (refused connection, timeout) are ``httpx.TransportError``; the event
iterator retries them itself before giving up with ``EventStreamError``.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "EventStreamError",
    "NotFoundError",
    "PayloadTooLargeError",
    "ServerError",
    "SmithersClientError",
    "SmithersHTTPError",
    "error_from_response",
]


class SmithersClientError(Exception):
    """Base of every error the Smithers client raises."""


class SmithersHTTPError(SmithersClientError):
    """The server answered with an error status and the ``{"error": …}`` envelope."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        super().__init__(f"{status} {code}: {message}")


class BadRequestError(SmithersHTTPError):
    """400: a malformed request, or a workflow that cannot be used."""


class AuthenticationError(SmithersHTTPError):
    """401: missing or wrong token."""


class NotFoundError(SmithersHTTPError):
    """404: unknown route or run."""


class ConflictError(SmithersHTTPError):
    """409: the run or approval is not in a state that allows this."""


class PayloadTooLargeError(SmithersHTTPError):
    """413: the request body is larger than the server accepts."""


class ServerError(SmithersHTTPError):
    """5xx: the server failed."""


class EventStreamError(SmithersClientError):
    """The event stream kept failing and reconnecting did not help."""


_BY_STATUS: dict[int, type[SmithersHTTPError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
}


class _Detail(msgspec.Struct):
    code: str
    message: str
    details: dict[str, Any] | None = None


class _Envelope(msgspec.Struct):
    error: _Detail


def error_from_response(status: int, body: bytes) -> SmithersHTTPError:
    """The typed error for an error response (a body without the envelope still gives one)."""
    try:
        detail = msgspec.json.decode(body, type=_Envelope).error
        code, message, details = detail.code, detail.message, detail.details
    except msgspec.DecodeError:
        code, message, details = f"HTTP_{status}", body.decode(errors="replace")[:500], None
    kind = ServerError if status >= 500 else _BY_STATUS.get(status, SmithersHTTPError)
    return kind(status, code, message, details)
