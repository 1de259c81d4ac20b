"""Server-Sent Events, parsed as the WHATWG HTML standard says: the one parser of the model
providers' answer streams (``smithers.agents``) and of the server's run events
(``smithers.client``).

``SSEParser.feed`` takes bytes as they arrive, split anywhere — inside a line, inside a field
name, inside a UTF-8 character — with lines ended by LF, CR or CRLF (a CRLF may be split
too); ``feed_line`` takes one line already split (as httpx's ``iter_lines`` gives them). A
message is dispatched by a blank line; an event cut off before its blank line never is.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field

__all__ = ["SSEMessage", "SSEParser", "sse_messages"]


@dataclass(frozen=True, slots=True)
class SSEMessage:
    """One dispatched message."""

    event: str
    """The ``event`` field, ``message`` when the event named none."""
    data: str
    """The ``data`` lines, joined by newlines."""
    id: str | None
    """The last ``id`` seen on the stream (it carries over to later messages)."""


@dataclass(slots=True)
class SSEParser:
    """The event-stream parser: fed bytes (``feed``) or lines (``feed_line``)."""

    retry_ms: int | None = None
    """The last valid ``retry`` field: how long the server wants a reconnection to wait."""
    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _id: str | None = None
    _text: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    )
    """UTF-8, a leading byte-order mark dropped, a broken sequence replaced (as the standard
    decodes the stream)."""
    _pending: str = ""
    """The start of a line whose end has not arrived."""
    _after_cr: bool = False
    """The last chunk ended with CR: an LF that begins the next one ends nothing more."""

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        """The messages that ``chunk`` completes."""
        text = self._text.decode(chunk)
        if not text:
            return []
        if self._after_cr and text[0] == "\n":
            text = text[1:]
        self._after_cr = text.endswith("\r")
        buffer, self._pending = self._pending + text, ""
        lines = buffer.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._pending = lines.pop()  # after the last line end: not a line yet
        return [m for line in lines if (m := self.feed_line(line)) is not None]

    def feed_line(self, line: str) -> SSEMessage | None:
        """Consume one line (without its line end); a blank line dispatches a message."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> SSEMessage | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return SSEMessage(event=event or "message", data="\n".join(data), id=self._id)


async def sse_messages(chunks: AsyncIterable[bytes]) -> AsyncIterator[SSEMessage]:
    """The messages of a byte stream, as they complete."""
    parser = SSEParser()
    async for chunk in chunks:
        for message in parser.feed(chunk):
            yield message
