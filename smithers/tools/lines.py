"""The lines of a file read in chunks: how many there are, and the few that are shown.

``read`` reads a file through once, whatever its size, and keeps only the lines of its
window (``offset``, ``limit``): memory stays bounded by what it shows, and ``lines`` counts
them all. Lines end at ``\\n`` (a ``\\r`` before it is dropped).
"""

from __future__ import annotations

__all__ = ["LineWindow"]


class LineWindow:
    """Counts the lines of chunks fed in order and keeps those numbered ``start`` to
    ``stop - 1`` (from 0), each cut to ``keep_bytes``."""

    def __init__(self, start: int, stop: int, keep_bytes: int) -> None:
        self.start = start
        self.stop = stop
        self.keep_bytes = keep_bytes
        self.count = 0
        """Complete lines so far (and, after ``finish``, all lines)."""
        self.kept: list[bytes] = []
        self._partial = bytearray()
        self._open = False
        """Whether a line has begun that no newline has ended yet."""

    def _in_window(self) -> bool:
        return self.start <= self.count < self.stop

    def feed(self, chunk: bytes) -> None:
        """The next bytes of the file."""
        newlines = chunk.count(b"\n")
        if not self._in_window() and not (self.count < self.start <= self.count + newlines):
            # nothing of this chunk is kept: count it, and whether it leaves a line open
            if newlines:
                self.count += newlines
                self._open = not chunk.endswith(b"\n")
            else:
                self._open = self._open or bool(chunk)
            self._partial.clear()
            return
        parts = chunk.split(b"\n")
        last = parts.pop()
        for part in parts:
            self._add(part)
            self._end_line()
        self._add(last)

    def _add(self, part: bytes) -> None:
        if self._in_window() and len(self._partial) <= self.keep_bytes:
            self._partial += part[: self.keep_bytes + 1 - len(self._partial)]
        if part:
            self._open = True

    def _end_line(self) -> None:
        if self._in_window():
            self.kept.append(bytes(self._partial).removesuffix(b"\r"))
        self._partial.clear()
        self._open = False
        self.count += 1

    def finish(self) -> None:
        """The end of the file: a last line without a newline counts too."""
        if self._open:
            self._end_line()
