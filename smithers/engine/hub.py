"""In-process wake-ups for event subscribers: a committed event reaches them in microseconds.

Subscribers of runs written by this process get the events straight from a small per-run
buffer; a subscriber that falls behind the buffer (or follows a run written elsewhere) reads
the store instead.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from smithers.store.batch import StoredEvent

__all__ = ["EventHub", "Subscription"]

Topic = tuple[str, str]


class Subscription:
    """One subscriber's view of a run's events."""

    def __init__(self, hub: EventHub, topic: Topic) -> None:
        self._hub = hub
        self.topic = topic
        self._signal = asyncio.Event()

    def notify(self) -> None:
        """Wake the subscriber."""
        self._signal.set()

    async def wait(self, within: float | None) -> bool:
        """Wait for new events; False on timeout."""
        try:
            async with asyncio.timeout(within):
                await self._signal.wait()
        except TimeoutError:
            return False
        finally:
            self._signal.clear()
        return True

    def take(self, after_seq: int) -> list[StoredEvent] | None:
        """Buffered events after ``after_seq``, or ``None`` if unknown (then read the store)."""
        buffer = self._hub._buffers.get(self.topic)
        if not buffer:
            return None
        if buffer[0].seq > after_seq + 1:
            return None
        return [e for e in buffer if e.seq > after_seq]

    def close(self) -> None:
        """Stop receiving wake-ups."""
        self._hub._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventHub:
    """Per-process fan-out of committed events to subscribers of each run."""

    def __init__(self, buffer_size: int = 1024) -> None:
        self._buffer_size = buffer_size
        self._subscribers: dict[Topic, set[Subscription]] = {}
        self._buffers: dict[Topic, deque[StoredEvent]] = {}

    def publisher(self, store_url: str) -> Callable[[str, list[StoredEvent]], None]:
        """A store listener that publishes that store's commits."""

        def publish(run_id: str, events: list[StoredEvent]) -> None:
            self.publish((store_url, run_id), events)

        return publish

    def publish(self, topic: Topic, events: list[StoredEvent]) -> None:
        """Buffer ``events`` for the run's subscribers and wake them."""
        subscribers = self._subscribers.get(topic)
        if not subscribers:
            return
        buffer = self._buffers.get(topic)
        if buffer is None:
            buffer = self._buffers[topic] = deque(maxlen=self._buffer_size)
        buffer.extend(events)
        for sub in subscribers:
            sub.notify()

    def subscribe(self, store_url: str, run_id: str) -> Subscription:
        """Follow a run's events."""
        topic = (store_url, run_id)
        sub = Subscription(self, topic)
        self._subscribers.setdefault(topic, set()).add(sub)
        return sub

    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return sum(len(s) for s in self._subscribers.values())

    def _unsubscribe(self, sub: Subscription) -> None:
        subs = self._subscribers.get(sub.topic)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self._subscribers[sub.topic]
            self._buffers.pop(sub.topic, None)
