"""End the event streams when a Granian worker is told to stop.

Granian stops a worker gracefully. It stops accepting, waits until every open connection has
finished, and only then runs the app's lifespan shutdown. The event stream of a run that has
not ended never finishes by itself. Without this hook, the worker was killed once
``WORKER_STOP_TIMEOUT`` had passed, and its runs were left owned by a dead process and not
interrupted. The worker's stop signals also reach this hook, which ends every stream; clients
reconnect with ``Last-Event-ID``. The shutdown then completes as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["on_stop_signals"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def on_stop_signals(callback: Callable[[], None]) -> None:
    """Run ``callback`` on the running loop when SIGTERM or SIGINT arrives.

    The handlers already in place keep working. A handler the loop registered with
    ``add_signal_handler`` gets the signal through the loop's wakeup descriptor, whatever
    the Python-level handler is. A plain ``signal.signal`` handler is called from this one.
    Outside the main thread nothing is installed, because signals go to the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
            with contextlib.suppress(RuntimeError):  # a signal after the loop has closed
                loop.call_soon_threadsafe(callback)
            if callable(previous):
                previous(signum, frame)

        signal.signal(sig, handler)
