"""A file tool's work in a worker thread (a ``grep`` over a large tree must not stall the
event loop), on a ``Root`` of the run's root opened for that call, under a ``Budget`` that a
cancel of the call ends too."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from smithers.tools.budget import Budget
from smithers.tools.root import Root

__all__ = ["in_root"]

T = TypeVar("T")


async def in_root(root: Path, work: Callable[..., T], *args: object) -> T:
    """``work(Root(root), *args, budget=...)`` in a worker thread; a cancel of the call stops
    the thread's work at its next check."""
    budget = Budget()
    try:
        return await asyncio.to_thread(_held, root, work, budget, args)
    except asyncio.CancelledError:
        budget.cancel()
        raise


def _held(root: Path, work: Callable[..., T], budget: Budget, args: tuple[object, ...]) -> T:
    with Root(root) as held:  # one descriptor per call: nothing to close later
        return work(held, *args, budget=budget)
