"""One streamed model call over HTTP, with the retry rules every provider shares."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import msgspec

from smithers import metrics
from smithers.agents.conversation import ModelReply
from smithers.agents.retrying import RETRYABLE_STATUSES, retry_delay_s, server_delay_s
from smithers.errors import ModelCallFailed

__all__ = ["StreamReader", "streamed_call"]

StreamReader = Callable[
    [AsyncIterator[str], Callable[[str], None]], Awaitable[tuple[ModelReply, bool]]
]
"""Reads a response's lines into a reply; says whether the stream ended properly."""


class StreamFailed(Exception):
    """The provider reported an error inside an answer stream (``retryable`` or not)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def _provider_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return response.text[:500] or response.reason_phrase


async def streamed_call(
    *,
    name: str,
    model: str,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    read_stream: StreamReader,
    on_text: Callable[[str], None],
    max_retries: int,
    timeout_s: float,
) -> ModelReply:
    """POST ``body`` and read the streamed answer, retrying 408/409/429/5xx/529, dropped
    connections and cut streams (after ``retry-after`` when given); ``MODEL_CALL_FAILED``
    with the provider's message otherwise or when the retries are used up."""
    timeout = httpx.Timeout(timeout_s, connect=30.0)
    async with httpx.AsyncClient(timeout=timeout) as client:
        for attempt in range(max_retries + 1):
            began = time.perf_counter()
            label, message, reply, delay = await _once(
                client, name, url, body, headers, read_stream, on_text
            )
            metrics.agent_calls.labels(name, model, label).inc()
            metrics.agent_call_duration_ms.labels(name, model).observe(
                (time.perf_counter() - began) * 1000
            )
            if reply is not None:
                return reply
            if attempt == max_retries or delay is None:
                raise ModelCallFailed(message)
            await asyncio.sleep(delay if delay >= 0 else retry_delay_s(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


async def _once(
    client: httpx.AsyncClient,
    name: str,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    read_stream: StreamReader,
    on_text: Callable[[str], None],
) -> tuple[str, str, ModelReply | None, float | None]:
    """``(metric status, message, reply or None, retry delay or None when not retryable)``;
    a negative delay means "the default backoff"."""
    try:
        async with client.stream("POST", url, json=body, headers=headers) as resp:
            if resp.status_code != 200:
                await resp.aread()
                message = f"{resp.status_code} from {name}: {_provider_message(resp)}"
                label = str(resp.status_code)
                if resp.status_code in RETRYABLE_STATUSES:
                    delay = server_delay_s(resp.headers)
                    return label, message, None, -1.0 if delay is None else delay
                return label, message, None, None
            reply, complete = await read_stream(resp.aiter_lines(), on_text)
    except StreamFailed as exc:
        return "error", f"{name}: {exc}", None, -1.0 if exc.retryable else None
    except (httpx.TransportError, msgspec.DecodeError) as exc:
        return "error", f"{name}: {type(exc).__name__}: {exc}", None, -1.0
    if not complete:
        return "error", f"{name}: the answer stream was cut", None, -1.0
    return "ok", "", reply, None
