"""One streamed model call over HTTP, with the retry rules every provider shares: a total
deadline, error bodies read up to 64 KiB, and URLs in httpx's log lines without userinfo or
query string."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import msgspec

from smithers import metrics
from smithers.agents.conversation import ModelReply
from smithers.agents.retrying import RETRYABLE_STATUSES, retry_delay_s, server_delay_s
from smithers.errors import ModelCallFailed
from smithers.secrets import hide_urls_in

__all__ = ["ERROR_BODY_LIMIT", "StreamReader", "streamed_call"]

hide_urls_in("httpx")  # its "HTTP Request: POST …" line shows no userinfo, no query string

StreamReader = Callable[
    [AsyncIterator[str], Callable[[str], None]], Awaitable[tuple[ModelReply, bool]]
]
"""Reads a response's lines into a reply; says whether the stream ended properly."""


class StreamFailed(Exception):
    """The provider reported an error inside an answer stream (``retryable`` or not)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


ERROR_BODY_LIMIT = 64 * 1024
"""The most of an error answer's body read (a provider's message is far shorter)."""
_MESSAGE_CHARS = 2000
"""The most of a provider's message an error keeps."""


async def _error_body(response: httpx.Response) -> bytes:
    """At most ``ERROR_BODY_LIMIT`` bytes of the body, read off the wire and decoded (gzip or
    deflate, bounded too); the rest is never read: the connection is closed with the answer."""
    raw = bytearray()
    async for chunk in response.aiter_raw():
        raw += chunk[: ERROR_BODY_LIMIT - len(raw)]
        if len(raw) >= ERROR_BODY_LIMIT:
            break
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:  # wbits 47: a gzip or a zlib header, whichever it is
            return zlib.decompressobj(wbits=47).decompress(bytes(raw), ERROR_BODY_LIMIT)
        except zlib.error:
            return b""
    return bytes(raw) if encoding == "identity" else b""


def _provider_message(body: bytes, reason: str) -> str:
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:  # not JSON, or cut at the limit
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:_MESSAGE_CHARS]
    return body.decode(errors="replace")[:500] or reason


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
    with the provider's message otherwise or when the retries are used up.

    ``timeout_s`` is the deadline of the whole call, retries and their waits included (not of
    each read: an endpoint sending a byte now and then does not outlive it); a retry whose
    wait would pass the deadline is not made."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    # the deadline bounds everything; httpx times only connecting (a host that never answers)
    timeout = httpx.Timeout(None, connect=min(30.0, timeout_s))
    async with httpx.AsyncClient(timeout=timeout) as client:
        for attempt in range(max_retries + 1):
            began = time.perf_counter()
            try:
                async with asyncio.timeout_at(deadline):
                    label, message, reply, delay = await _once(
                        client, name, url, body, headers, read_stream, on_text
                    )
            except TimeoutError:
                label, reply, delay = "timeout", None, None
                message = f"{name}: no complete answer within the call's {timeout_s:g} s timeout"
            metrics.agent_calls.labels(name, model, label).inc()
            metrics.agent_call_duration_ms.labels(name, model).observe(
                (time.perf_counter() - began) * 1000
            )
            if reply is not None:
                return reply
            if attempt == max_retries or delay is None:
                raise ModelCallFailed(message)
            wait = delay if delay >= 0 else retry_delay_s(attempt)
            if loop.time() + wait >= deadline:
                raise ModelCallFailed(
                    f"{message} (not retried: the call's {timeout_s:g} s timeout would pass first)"
                )
            await asyncio.sleep(wait)
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
                provider = _provider_message(await _error_body(resp), resp.reason_phrase)
                message = f"{resp.status_code} from {name}: {provider}"
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
