"""Reading a raw Server-Sent Events response, block by block, within a deadline."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

STREAM_DEADLINE = 20.0


@dataclass
class EventBlock:
    """One ``id``/``event``/``data`` block of the stream."""

    seq: int
    event: str
    data: dict[str, Any]


@dataclass
class RawStream:
    """What one connection to ``/events`` delivered."""

    response: httpx.Response
    blocks: list[str] = field(default_factory=list)
    """The raw blocks, without the blank line that ends each."""
    ended: bool = False
    """The server closed the stream (rather than the reader stopping)."""

    @property
    def events(self) -> list[EventBlock]:
        """The event blocks, parsed strictly in the contract's format."""
        parsed = []
        for block in self.blocks:
            if block.startswith(("retry:", ":")):
                continue
            lines = block.split("\n")
            assert len(lines) == 3, block
            assert lines[0].startswith("id: ") and lines[1] == "event: smithers", block
            assert lines[2].startswith("data: "), block
            data = json.loads(lines[2][len("data: ") :])
            parsed.append(EventBlock(int(lines[0][len("id: ") :]), "smithers", data))
        return parsed


def read_stream(
    http: httpx.Client,
    run_id: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    stop: Callable[[list[str]], bool] | None = None,
    deadline: float = STREAM_DEADLINE,
) -> RawStream:
    """Read ``/v1/runs/{runId}/events`` until the server ends it or ``stop(blocks)`` is true."""
    give_up = time.monotonic() + deadline
    timeout = httpx.Timeout(deadline, connect=10.0)
    with http.stream(
        "GET", f"/v1/runs/{run_id}/events", params=params, headers=headers, timeout=timeout
    ) as response:
        stream = RawStream(response)
        if response.status_code != 200:
            response.read()
            return stream
        buffer = ""
        for chunk in response.iter_text():
            buffer += chunk
            *complete, buffer = buffer.split("\n\n")
            stream.blocks.extend(complete)
            if stop is not None and stop(stream.blocks):
                return stream
            assert time.monotonic() < give_up, f"stream still open after {deadline}s"
        assert buffer == "", f"stream ended inside a block: {buffer!r}"
        stream.ended = True
        return stream
