"""A wake-up flag for one waiting coroutine: cheaper than ``asyncio.Event`` plus a timeout."""

from __future__ import annotations

import asyncio

__all__ = ["Wakeup"]

_EARLY = 0.001
"""A timer firing less than this before the deadline counts as on time."""


class Wakeup:
    """``set()`` wakes the coroutine in ``wait()``, or makes its next ``wait()`` return at once.

    The timeout timer is lazy: a wait that ends early leaves its timer armed, and the next
    wait only moves the deadline. When the timer fires before the current deadline it
    re-arms itself for the rest. A coroutine woken often (an event stream with a 10 s
    keep-alive) thus creates about one timer per timeout period instead of one per wake-up.
    """

    __slots__ = ("_deadline", "_pending", "_timer", "_waiter")

    def __init__(self) -> None:
        self._waiter: asyncio.Future[bool] | None = None
        self._pending = False
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def set(self) -> None:
        """Wake the waiter (or leave the flag set for the next wait)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)
        else:
            self._pending = True

    def clear(self) -> None:
        """Forget a wake-up nobody waited for yet."""
        self._pending = False

    def is_set(self) -> bool:
        """Whether a wake-up is pending."""
        return self._pending

    async def wait(self, within: float | None) -> bool:
        """Wait up to ``within`` seconds (``None``: forever); False on timeout."""
        if self._pending:
            self._pending = False
            return True
        loop = asyncio.get_running_loop()
        if within is None:
            self.close()
        else:
            deadline = self._deadline = loop.time() + within
            timer = self._timer
            if timer is not None and timer.when() > deadline:
                timer.cancel()
                timer = None
            if timer is None:
                self._timer = loop.call_at(deadline, self._expire)
        waiter = self._waiter = loop.create_future()
        try:
            woken: bool = await waiter
            return woken
        finally:
            self._waiter = None

    def close(self) -> None:
        """Drop the armed timer (the waiting coroutine is done with this flag)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # nobody waits: the next wait arms a new timer
        loop = waiter.get_loop()
        if self._deadline - loop.time() > _EARLY:  # woken and waiting again since arming
            self._timer = loop.call_at(self._deadline, self._expire)
        else:
            waiter.set_result(False)
