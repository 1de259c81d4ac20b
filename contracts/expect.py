"""Assertions on responses: the error envelope, the headers every response must carry."""

from __future__ import annotations

import json
from typing import Any

import httpx

JSON_TYPE = "application/json"
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SSE_TYPE = "text/event-stream"


def assert_json_headers(response: httpx.Response) -> None:
    """§3: every JSON response carries these three headers."""
    assert response.headers.get("content-type", "").split(";")[0] == JSON_TYPE, response.headers
    assert response.headers.get("cache-control") == "no-store", response.headers
    assert response.headers.get("x-content-type-options") == "nosniff", response.headers


def assert_sse_headers(response: httpx.Response) -> None:
    """§3: the exact event-stream headers."""
    assert response.headers.get("content-type") == SSE_TYPE, response.headers
    assert response.headers.get("cache-control") == "no-cache", response.headers
    assert response.headers.get("x-accel-buffering") == "no", response.headers
    assert response.headers.get("x-content-type-options") == "nosniff", response.headers


def assert_envelope(response: httpx.Response) -> dict[str, Any]:
    """§3: ``{"error": {"code", "message", "details"?}}`` and nothing else; returns the error."""
    body = json.loads(response.content)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) in ({"code", "message"}, {"code", "message", "details"}), error
    assert isinstance(error["code"], str) and error["code"].isupper(), error
    assert isinstance(error["message"], str) and error["message"], error
    if "details" in error:
        assert isinstance(error["details"], dict) and error["details"], error
    return dict(error)


def expect_error(
    response: httpx.Response,
    status: int,
    code: str,
    message: str | None = None,
    *,
    details: dict[str, Any] | None = None,
    mentions: str | None = None,
) -> dict[str, Any]:
    """The response is an error with this status, code, message (if given) and ``details``.

    ``details`` must match exactly (``None``: no ``details`` key); ``mentions`` is a word the
    message must contain (the field an ``INVALID_REQUEST`` names).
    """
    assert response.status_code == status, (response.status_code, response.text)
    assert_json_headers(response)
    error = assert_envelope(response)
    assert error["code"] == code, error
    if message is not None:
        assert error["message"] == message, error
    if mentions is not None:
        assert mentions in error["message"], error
    assert error.get("details") == details, error
    return error


def expect_json(response: httpx.Response, status: int = 200) -> Any:
    """A JSON response with this status; returns the decoded body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert_json_headers(response)
    return response.json()


def check_every_response(response: httpx.Response) -> None:
    """httpx response hook: §3 headers on every JSON response, the envelope on every error."""
    content_type = response.headers.get("content-type", "")
    if content_type.startswith(SSE_TYPE):
        return
    assert response.headers.get("x-content-type-options") == "nosniff", (
        response.request.url,
        response.headers,
    )
    if content_type.startswith(JSON_TYPE) or response.status_code >= 400:
        assert_json_headers(response)
    if response.status_code >= 400:
        response.read()
        assert_envelope(response)
