"""Feeds: one database poller per followed run that this process does not execute.

However many clients stream a run written by another process, one task reads its new events
(and notices when it has ended) and publishes them to the in-process hub; the streams then
deliver from the hub exactly as for runs this process writes itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from smithers.engine.scheduler import RunScheduler
from smithers.statuses import TERMINAL
from smithers.store.batch import StoredEvent
from smithers.store.store import Store

__all__ = ["Feed", "Feeds"]

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Feed:
    """What the poller of one run knows; shared by that run's streams."""

    store: Store
    run_id: str
    ended: bool = False
    """The run's row is terminal (set by the poller; streams then finish draining)."""
    users: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class Feeds:
    """The feeds of this process, started with their first stream and stopped with their last."""

    def __init__(self, scheduler: RunScheduler, interval: float) -> None:
        self.scheduler = scheduler
        self.interval = interval
        self._feeds: dict[tuple[str, str], Feed] = {}

    @contextlib.contextmanager
    def follow(self, store: Store, run_id: str) -> Iterator[Feed]:
        """Share (or start) the feed of a run for the duration of a stream."""
        key = (store.url, run_id)
        feed = self._feeds.get(key)
        if feed is None:
            feed = self._feeds[key] = Feed(store, run_id)
            feed.task = asyncio.create_task(self._poll(feed), name=f"feed:{run_id}")
        feed.users += 1
        try:
            yield feed
        finally:
            feed.users -= 1
            if feed.users == 0:
                self._feeds.pop(key, None)
                if feed.task is not None:
                    feed.task.cancel()

    async def _poll(self, feed: Feed) -> None:
        hub = self.scheduler.hub
        topic = (feed.store.url, feed.run_id)
        reads = feed.store.reads
        last = await reads.max_event_seq(feed.run_id)
        while True:
            try:
                if feed.run_id in self.scheduler.active:
                    last = hub.last_seq(topic) or last  # its writer publishes here directly
                    await asyncio.sleep(self.interval)
                    continue
                rows = await reads.list_events(feed.run_id, last, 1000)
                if rows:
                    events = [
                        StoredEvent(r.run_id, r.seq, r.type, r.timestamp_ms, r.payload_json)
                        for r in rows
                    ]
                    hub.publish(topic, events)
                    last = rows[-1].seq
                    if len(rows) == 1000:
                        continue
                else:
                    row = await reads.get_run(feed.run_id)
                    ended = row is None or row.status in TERMINAL
                    if ended != feed.ended:
                        feed.ended = ended
                        hub.notify(topic)
            except Exception:
                log.exception("following run %s failed; retrying", feed.run_id)
            await asyncio.sleep(self.interval)
