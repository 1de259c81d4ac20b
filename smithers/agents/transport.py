"""One streamed model call over HTTP, with the retry rules every provider shares: a total
deadline, error bodies read up to 64 KiB, and URLs in httpx's log lines without userinfo or
query string.

Each try of a call ends in one ``Outcome``: ``Answered`` (the reply), ``Retry`` (after the
server's delay or the backoff) or ``Refused`` (the attempt fails with the provider's message).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeAlias

import httpx
import msgspec

from smithers import metrics
from smithers.agents.conversation import ModelReply
from smithers.agents.retrying import RETRYABLE_STATUSES, retry_delay_s, server_delay_s
from smithers.errors import ModelCallFailed
from smithers.secrets import hide_urls_in
from smithers.sse import SSEMessage, sse_messages

__all__ = [
    "ERROR_BODY_LIMIT",
    "Answered",
    "Outcome",
    "Refused",
    "Retry",
    "StreamFailed",
    "StreamReader",
    "WireCall",
    "streamed_call",
]

hide_urls_in("httpx")  # its "HTTP Request: POST …" line shows no userinfo, no query string

StreamReader: TypeAlias = Callable[
    [AsyncIterator[SSEMessage], Callable[[str], None]], Awaitable[ModelReply | None]
]
"""Reads an answer stream's messages into a reply (text deltas to the callback as they
come); ``None`` when the stream ended before the answer did."""


@dataclass(frozen=True, slots=True)
class WireCall:
    """One provider request: where it goes, its JSON body, its headers, how its answer
    stream is read."""

    url: str
    body: bytes
    headers: dict[str, str]
    read: StreamReader


class StreamFailed(Exception):
    """The provider reported an error inside an answer stream (``retryable`` or not)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class Answered:
    """The call answered whole."""

    reply: ModelReply


@dataclass(frozen=True, slots=True)
class Retry:
    """A try that may be made again: ``status`` is its metric label."""

    status: str
    message: str
    after_s: float | None = None
    """The delay the server asked for; ``None``: the backoff's."""


@dataclass(frozen=True, slots=True)
class Refused:
    """A try whose answer fails the call."""

    status: str
    message: str


Outcome: TypeAlias = Answered | Retry | Refused

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


class _ErrorDetail(msgspec.Struct):
    message: str | None = None


class _ErrorAnswer(msgspec.Struct):
    """An error answer as both providers shape it: ``{"error": {"message": ...}}``."""

    error: _ErrorDetail | None = None


_error_answer = msgspec.json.Decoder(_ErrorAnswer)


def _provider_message(body: bytes, reason: str) -> str:
    try:
        detail = _error_answer.decode(body).error
    except msgspec.DecodeError:  # not JSON, not that shape, or cut at the limit
        detail = None
    if detail is not None and detail.message:
        return detail.message[:_MESSAGE_CHARS]
    return body.decode(errors="replace")[:500] or reason


async def streamed_call(
    *,
    name: str,
    model: str,
    call: WireCall,
    on_text: Callable[[str], None],
    max_retries: int,
    timeout_s: float,
) -> ModelReply:
    """Make ``call`` and read the streamed answer, retrying 408/409/429/5xx/529, dropped
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
            outcome: Outcome
            try:
                async with asyncio.timeout_at(deadline):
                    outcome = await _once(client, name, call, on_text)
            except TimeoutError:
                message = f"{name}: no complete answer within the call's {timeout_s:g} s timeout"
                outcome = Refused("timeout", message)
            status = "ok" if isinstance(outcome, Answered) else outcome.status
            metrics.agent_calls.labels(name, model, status).inc()
            metrics.agent_call_duration_ms.labels(name, model).observe(
                (time.perf_counter() - began) * 1000
            )
            match outcome:
                case Answered(reply=reply):
                    return reply
                case Refused(message=message):
                    raise ModelCallFailed(message)
                case Retry(message=message) if attempt == max_retries:
                    raise ModelCallFailed(message)
                case Retry(message=message, after_s=after_s):
                    wait = retry_delay_s(attempt) if after_s is None else after_s
                    if loop.time() + wait >= deadline:
                        raise ModelCallFailed(
                            f"{message} (not retried: the call's {timeout_s:g} s timeout "
                            "would pass first)"
                        )
                    await asyncio.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


async def _once(
    client: httpx.AsyncClient, name: str, call: WireCall, on_text: Callable[[str], None]
) -> Outcome:
    """One try of ``call``."""
    headers = {"content-type": "application/json", **call.headers}
    try:
        async with client.stream("POST", call.url, content=call.body, headers=headers) as resp:
            if resp.status_code != 200:
                provider = _provider_message(await _error_body(resp), resp.reason_phrase)
                message = f"{resp.status_code} from {name}: {provider}"
                if resp.status_code in RETRYABLE_STATUSES:
                    return Retry(str(resp.status_code), message, server_delay_s(resp.headers))
                return Refused(str(resp.status_code), message)
            reply = await call.read(sse_messages(resp.aiter_bytes()), on_text)
    except StreamFailed as exc:
        if exc.retryable:
            return Retry("error", f"{name}: {exc}")
        return Refused("error", f"{name}: {exc}")
    except (httpx.TransportError, msgspec.DecodeError) as exc:
        return Retry("error", f"{name}: {type(exc).__name__}: {exc}")
    if reply is None:
        return Retry("error", f"{name}: the answer stream was cut")
    return Answered(reply)
