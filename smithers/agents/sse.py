"""Server-Sent Events as a streaming model API sends them: ``data:`` lines, blank-line ends."""

from __future__ import annotations

from collections.abc import AsyncIterator

__all__ = ["sse_data"]


async def sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The ``data`` of each event (multi-line data joined by newlines); comments skipped."""
    data: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)
