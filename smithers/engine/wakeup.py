"""A wake-up flag for one waiting coroutine: cheaper than ``asyncio.Event`` plus a timeout."""

from __future__ import annotations

import asyncio

__all__ = ["Wakeup"]


class Wakeup:
    """``set()`` wakes the coroutine in ``wait()``, or makes its next ``wait()`` return at once."""

    __slots__ = ("_pending", "_waiter")

    def __init__(self) -> None:
        self._waiter: asyncio.Future[bool] | None = None
        self._pending = False

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
        waiter = self._waiter = loop.create_future()
        timer = None if within is None else loop.call_later(within, _expire, waiter)
        try:
            woken: bool = await waiter
            return woken
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)
