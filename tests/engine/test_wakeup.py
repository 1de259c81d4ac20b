"""The wake-up flag shared by run loops and event subscriptions."""

from __future__ import annotations

import asyncio

from smithers.engine.wakeup import Wakeup


async def test_set_before_wait_returns_at_once() -> None:
    wakeup = Wakeup()
    wakeup.set()
    assert wakeup.is_set()
    assert await wakeup.wait(10) is True
    assert not wakeup.is_set()


async def test_clear_forgets_a_pending_wakeup() -> None:
    wakeup = Wakeup()
    wakeup.set()
    wakeup.clear()
    assert await wakeup.wait(0.01) is False


async def test_set_wakes_a_waiter() -> None:
    wakeup = Wakeup()
    loop = asyncio.get_running_loop()
    loop.call_later(0.01, wakeup.set)
    started = loop.time()
    assert await wakeup.wait(5) is True
    assert loop.time() - started < 1


async def test_timeout_counts_from_each_wait_not_from_the_first() -> None:
    """A wait woken early leaves its timer armed; the next wait still gets its full time."""
    wakeup = Wakeup()
    loop = asyncio.get_running_loop()
    loop.call_later(0.15, wakeup.set)
    assert await wakeup.wait(0.2) is True  # woken at ~0.15 s; the timer stays armed for 0.2 s
    started = loop.time()
    assert await wakeup.wait(0.2) is False  # the old timer fires at 0.2 s and re-arms
    assert loop.time() - started >= 0.19


async def test_a_shorter_timeout_than_the_armed_timer_is_honoured() -> None:
    wakeup = Wakeup()
    loop = asyncio.get_running_loop()
    loop.call_later(0.01, wakeup.set)
    assert await wakeup.wait(30) is True
    started = loop.time()
    assert await wakeup.wait(0.05) is False
    assert loop.time() - started < 1


async def test_waiting_forever_ignores_an_earlier_timer() -> None:
    wakeup = Wakeup()
    loop = asyncio.get_running_loop()
    loop.call_later(0.01, wakeup.set)
    assert await wakeup.wait(0.05) is True
    loop.call_later(0.2, wakeup.set)
    assert await wakeup.wait(None) is True  # not the stale 0.05 s timer's False
    wakeup.close()
