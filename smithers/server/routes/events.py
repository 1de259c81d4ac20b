"""``GET /v1/runs/{runId}/events``: Server-Sent Events of a run.

Events of runs this process writes arrive through the in-process hub within milliseconds;
for runs written elsewhere the stream polls the database. Nothing is skipped or sent twice:
the stream tracks the last ``seq`` it sent and only ever sends later ones.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from litestar import Request, get
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream

from smithers import metrics
from smithers.server.context import ServerContext, context_of
from smithers.server.http.docs import documented
from smithers.server.http.inputs import header_int, query_int
from smithers.statuses import TERMINAL, TERMINAL_EVENTS
from smithers.store.batch import StoredEvent
from smithers.store.rows import EventRow
from smithers.store.store import Store

__all__ = ["EVENT_ROUTES", "SSE_HEADERS", "event_stream", "events_of", "sse_frame"]

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_frame(seq: int, payload_json: str) -> bytes:
    """One SSE message: ``id``, ``event: smithers``, and the stored event JSON."""
    return b"id: %d\nevent: smithers\ndata: %s\n\n" % (seq, payload_json.encode())


def _frames(events: Sequence[StoredEvent | EventRow]) -> bytes:
    chunks = []
    for event in events:
        if isinstance(event, StoredEvent):
            if event.encoded is None:  # encoded once, shared by every stream of the run
                event.encoded = sse_frame(event.seq, event.payload_json)
            chunks.append(event.encoded)
        else:
            chunks.append(sse_frame(event.seq, event.payload_json))
    return b"".join(chunks)


async def event_stream(
    ctx: ServerContext, store: Store, run_id: str, after_seq: int
) -> AsyncIterator[bytes]:
    """The SSE body: ``retry``, then every event after ``after_seq``, until the run ends.

    Events come from the in-process hub: straight from the writer for runs this process
    executes, from the run's shared database feed otherwise; a stream that falls behind the
    hub's buffer (or replays history) reads the database itself.
    """
    keepalive = ctx.settings.sse_keepalive
    metrics.sse_subscribers.inc()
    with (
        ctx.scheduler.hub.subscribe(store.url, run_id) as sub,
        ctx.feeds.follow(store, run_id) as feed,
    ):
        try:
            yield b"retry: 1000\n\n"
            last = after_seq
            last_sent = time.monotonic()
            check_status = True
            while True:
                buffered = sub.take(last)
                events: Sequence[StoredEvent | EventRow] = (
                    buffered
                    if buffered is not None
                    else await store.reads.list_events(run_id, last, 500)
                )
                if events:
                    yield _frames(events)
                    last = events[-1].seq
                    last_sent = time.monotonic()
                    check_status = check_status or events[-1].type in TERMINAL_EVENTS
                    continue
                if ctx.stopping:
                    return  # the server is stopping: the client reconnects with Last-Event-ID
                if check_status or feed.ended:
                    row = await store.reads.get_run(run_id)
                    if row is None or row.status in TERMINAL:
                        if not await store.reads.list_events(run_id, last, 1):
                            return
                        continue
                    check_status = False
                idle = time.monotonic() - last_sent
                if not await sub.wait(max(0.0, keepalive - idle)):
                    yield b": keep-alive\n\n"
                    last_sent = time.monotonic()
        finally:
            metrics.sse_subscribers.dec()


@get(
    "/v1/runs/{runId:str}/events",
    responses=documented(400, 404),
    summary="Server-Sent Events of a run",
    media_type="text/event-stream",
)
async def run_events(
    request: Request[Any, Any, Any],
    runId: FromPath[str],
    after_seq: Annotated[
        str | None,
        QueryParameter(name="afterSeq", description="send events with a greater seq (default -1)"),
    ] = None,
) -> Stream:
    """Every stored event after ``afterSeq`` (or ``Last-Event-ID``), then live ones."""
    return await events_of(request, runId, after_seq)


async def events_of(request: Request[Any, Any, Any], run_id: str, after_seq: str | None) -> Stream:
    """The event stream of ``run_id`` from ``after_seq`` (the raw ``afterSeq`` query value),
    else from the ``Last-Event-ID`` header, else from the start (serve mode's too).

    A malformed ``Last-Event-ID`` is a 400 even next to a valid ``afterSeq``: a client that
    sends one has a bug worth hearing about, and the stream it asked for is then ambiguous."""
    ctx = context_of(request)
    start = query_int(after_seq, "afterSeq")
    last_event_id = header_int(request.headers.get("last-event-id"), "Last-Event-ID")
    if start is None:
        start = last_event_id
    store, _ = await ctx.locate(run_id)
    return Stream(
        event_stream(ctx, store, run_id, -1 if start is None else start),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


EVENT_ROUTES = [run_events]
