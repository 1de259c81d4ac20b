"""The SSE parser (``smithers.sse``, shared with the agents' model streams) and the client's
stream cursor, without a server."""

from __future__ import annotations

import pytest

from smithers.client import ConflictError, EventStreamError, ServerError, SmithersHTTPError
from smithers.client.errors import error_from_response
from smithers.client.sse import EventCursor
from smithers.sse import SSEMessage, SSEParser


def feed(parser: SSEParser, text: str) -> list[SSEMessage]:
    return [m for line in text.split("\n") if (m := parser.feed_line(line)) is not None]


def test_parser_follows_the_event_stream_format() -> None:
    parser = SSEParser()
    messages = feed(
        parser,
        'retry: 250\n\n: a comment\nid: 7\nevent: smithers\ndata: {"a":\ndata:1}\n\n'
        "data: no event name\nunknown: field\n\nevent: lonely\n\n",
    )
    assert parser.retry_ms == 250
    assert messages == [
        SSEMessage(event="smithers", data='{"a":\n1}', id="7"),
        SSEMessage(event="message", data="no event name", id="7"),  # the id carries over
    ]


def test_parser_ignores_a_bad_retry_and_an_id_with_nul() -> None:
    parser = SSEParser()
    assert feed(parser, "retry: soon\nid: a\0b\ndata: x\n\n") == [SSEMessage("message", "x", None)]
    assert parser.retry_ms is None


STREAM = (
    "\ufeffevent: content_block_delta\r\n"
    'data: {"text": "h\u00e9llo \u2603 \U0001f600"}\r\n'
    "\r\n"
    ": keep-alive\r"
    "data: two\r"
    "data: lines\r"
    "\r"
    "id: 9\n"
    "data:\n"
    "\n"
    "data: cut off before its blank line"
).encode()
EXPECTED = [
    SSEMessage("content_block_delta", '{"text": "h\u00e9llo \u2603 \U0001f600"}', None),
    SSEMessage("message", "two\nlines", None),
    SSEMessage("message", "", "9"),
]


def test_bytes_split_anywhere_give_the_same_messages() -> None:
    """LF, CR and CRLF line ends, a byte-order mark, multi-byte characters: whole, byte by
    byte, and cut at every place in two (inside ``data:``, inside a character, between the
    CR and the LF of a CRLF)."""
    assert SSEParser().feed(STREAM) == EXPECTED
    parser = SSEParser()
    assert [m for i in range(len(STREAM)) for m in parser.feed(STREAM[i : i + 1])] == EXPECTED
    for cut in range(len(STREAM)):
        parser = SSEParser()
        assert parser.feed(STREAM[:cut]) + parser.feed(STREAM[cut:]) == EXPECTED, cut


def test_a_broken_utf8_sequence_is_replaced_not_raised() -> None:
    assert SSEParser().feed(b"data: \xff\xfeok\n\n") == [
        SSEMessage("message", "\ufffd\ufffdok", None)
    ]


def block(seq: int, kind: str) -> list[str]:
    return [f"id: {seq}", "event: smithers", f'data: {{"type":"{kind}","runId":"r"}}', ""]


def test_cursor_skips_what_it_already_yielded_and_notes_the_end() -> None:
    cursor = EventCursor("r", after_seq=0, max_retries=3)
    assert cursor.connected(200)
    lines = [
        "retry: 10",
        "",
        *block(0, "RunStarted"),
        *block(1, "NodeStarted"),
        *block(1, "NodeStarted"),
    ]
    events = [e for line in lines if (e := cursor.feed(line)) is not None]
    assert [e.seq for e in events] == [1] and cursor.last_seq == 1 and cursor.delay == 0.01
    assert cursor.params == {"afterSeq": 1} and cursor.headers["Last-Event-ID"] == "1"
    assert not cursor.finished
    for line in block(2, "RunFinished"):
        cursor.feed(line)
    assert cursor.finished and not cursor.needs_status()


def test_cursor_asks_the_status_after_an_empty_clean_end() -> None:
    cursor = EventCursor("r", after_seq=5, max_retries=1)
    cursor.connected(200)
    assert cursor.needs_status()
    assert cursor.status_seen("finished")
    assert not cursor.status_seen("running")  # counts as one failure
    with pytest.raises(EventStreamError):
        cursor.status_seen("running")


def test_cursor_rejects_events_it_cannot_place() -> None:
    cursor = EventCursor("r", after_seq=-1, max_retries=1)
    cursor.connected(200)
    with pytest.raises(EventStreamError):
        [cursor.feed(line) for line in ["event: smithers", "data: {}", ""]]
    with pytest.raises(EventStreamError):
        [cursor.feed(line) for line in ["id: 1", "event: smithers", "data: [1]", ""]]


def test_cursor_raises_client_errors_and_retries_server_errors() -> None:
    cursor = EventCursor("r", after_seq=-1, max_retries=1)
    with pytest.raises(ConflictError):
        cursor.connected(409, b'{"error":{"code":"X","message":"m"}}')
    assert not cursor.connected(503, b"busy")
    with pytest.raises(EventStreamError) as caught:
        cursor.connected(503, b"busy")
    assert isinstance(caught.value.__cause__, ServerError)


def test_error_without_an_envelope() -> None:
    error = error_from_response(502, b"<html>bad gateway</html>")
    assert isinstance(error, ServerError)
    assert (error.status, error.code, error.message) == (
        502,
        "HTTP_502",
        "<html>bad gateway</html>",
    )
    teapot = error_from_response(418, b'{"error":{"code":"TEA","message":"no","details":{"a":1}}}')
    assert type(teapot) is SmithersHTTPError and teapot.details == {"a": 1}
