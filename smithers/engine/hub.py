"""In-process wake-ups for event subscribers: a committed event reaches them in microseconds.

Subscribers of runs written by this process get the events straight from a small per-run
buffer; a subscriber that falls behind the buffer (or follows a run written elsewhere) reads
the store instead.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine

from smithers.engine.wakeup import Wakeup
from smithers.store.batch import StoredEvent

__all__ = ["EventHub", "Subscription"]

Topic = tuple[str, str]


class Subscription:
    """One subscriber's view of a run's events."""

    __slots__ = ("_hub", "_wakeup", "topic")

    def __init__(self, hub: EventHub, topic: Topic) -> None:
        self._hub = hub
        self.topic = topic
        self._wakeup = Wakeup()

    def notify(self) -> None:
        """Wake the subscriber (or make its next wait return at once)."""
        self._wakeup.set()

    def wait(self, within: float | None) -> Coroutine[None, None, bool]:
        """Wait for new events; False on timeout (the flag's own coroutine: one frame less)."""
        return self._wakeup.wait(within)

    def take(self, after_seq: int) -> list[StoredEvent] | None:
        """Buffered events after ``after_seq``; ``None`` if unknown (then read the store)."""
        return self._hub._events_after(self.topic, after_seq)

    def close(self) -> None:
        """Stop receiving wake-ups."""
        self._wakeup.close()
        self._hub._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventHub:
    """Per-process fan-out of committed events to subscribers of each run.

    Each followed run keeps a contiguous list of its latest events (by seq), so a subscriber
    takes what it has not seen with one slice.
    """

    def __init__(self, buffer_size: int = 1024) -> None:
        self._buffer_size = buffer_size
        self._subscribers: dict[Topic, set[Subscription]] = {}
        self._buffers: dict[Topic, list[StoredEvent]] = {}

    def publisher(self, store_url: str) -> Callable[[str, list[StoredEvent]], None]:
        """A store listener that publishes that store's commits."""

        def publish(run_id: str, events: list[StoredEvent]) -> None:
            self.publish((store_url, run_id), events)

        return publish

    def publish(self, topic: Topic, events: list[StoredEvent]) -> None:
        """Buffer ``events`` for the run's subscribers and wake them.

        Several sources may publish one run (its writer here, a database poller): the buffer
        keeps each seq once, in order; after a gap it starts over at the new events.
        """
        subscribers = self._subscribers.get(topic)
        if not subscribers:
            return
        buffer = self._buffers.setdefault(topic, [])
        added = False
        for event in events:
            if buffer:
                last = buffer[-1].seq
                if event.seq <= last:
                    continue
                if event.seq != last + 1:
                    buffer.clear()
            buffer.append(event)
            added = True
        if len(buffer) > 2 * self._buffer_size:
            del buffer[: len(buffer) - self._buffer_size]
        if added:
            self.notify(topic)

    def notify(self, topic: Topic) -> None:
        """Wake the run's subscribers (something about it changed)."""
        for sub in self._subscribers.get(topic, ()):
            sub.notify()

    def notify_all(self) -> None:
        """Wake every subscriber of every run (the process is about to stop)."""
        for subscribers in self._subscribers.values():
            for sub in subscribers:
                sub.notify()

    def last_seq(self, topic: Topic) -> int | None:
        """The highest seq buffered for a run while it has subscribers."""
        buffer = self._buffers.get(topic)
        return buffer[-1].seq if buffer else None

    def subscribe(self, store_url: str, run_id: str) -> Subscription:
        """Follow a run's events."""
        topic = (store_url, run_id)
        sub = Subscription(self, topic)
        self._subscribers.setdefault(topic, set()).add(sub)
        return sub

    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return sum(len(s) for s in self._subscribers.values())

    def _events_after(self, topic: Topic, after_seq: int) -> list[StoredEvent] | None:
        buffer = self._buffers.get(topic)
        if not buffer:
            return None
        start = after_seq + 1 - buffer[0].seq
        if start < 0:
            return None
        return buffer[start:]

    def _unsubscribe(self, sub: Subscription) -> None:
        subs = self._subscribers.get(sub.topic)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self._subscribers[sub.topic]
            self._buffers.pop(sub.topic, None)
