"""How long a file tool may work, and a way to stop it from outside its thread.

File tools run in a worker thread, which nothing can kill; instead each one checks its
``Budget`` between bounded steps (a folder of a walk, a file, a match: each step is linear
in the size of one file of at most ``FileLimits.max_file_bytes``). ``cancel()`` — called when
the call's task is cancelled — and the deadline both end the work at the next check.
"""

from __future__ import annotations

import time

from smithers.errors import ToolInterrupted, ToolTimeout

__all__ = ["FILE_TOOL_TIMEOUT_S", "Budget"]

FILE_TOOL_TIMEOUT_S = 120.0
"""What one file tool call may take (as long as a ``bash`` call without a ``timeout``)."""


class Budget:
    """A deadline and a cancel flag, checked by the work itself."""

    __slots__ = ("_cancelled", "_deadline", "seconds")

    def __init__(self, seconds: float = FILE_TOOL_TIMEOUT_S) -> None:
        self.seconds = seconds
        self._deadline = time.monotonic() + seconds
        self._cancelled = False

    def cancel(self) -> None:
        """Make the next ``check()`` raise."""
        self._cancelled = True

    def check(self) -> None:
        """``TOOL_INTERRUPTED`` after ``cancel()``, ``TOOL_TIMEOUT`` past the deadline."""
        if self._cancelled:
            raise ToolInterrupted("the tool call was cancelled")
        if time.monotonic() > self._deadline:
            raise ToolTimeout(f"the tool call took longer than {self.seconds:g} s")
