"""A scripted model for tests: the OpenAI Chat Completions and the Anthropic Messages
protocols, streamed, on loopback.

    with ScriptedModel([Call("read", {"path": "notes.md"}), Reply('{"summary": "ok"}')]) as model:
        agent = OpenAIAgent(model="scripted", base_url=model.base_url)
        # or AnthropicAgent(model="scripted", base_url=model.anthropic_url)
        ...  # run the workflow; model.requests holds every request body it received

Each request takes the next step of the script: ``Reply`` streams text (in ``chunks``),
``Call`` asks for tool calls, ``Fail`` answers an HTTP error (with headers such as
``retry-after``), ``Cut`` streams some text and drops the connection. The chunks follow the
shapes of the providers' documentation: ``chat.completion.chunk``s with tool-call deltas by
``index``, a usage chunk and ``data: [DONE]``; or ``message_start``, ``content_block_*``
(``text_delta``, ``input_json_delta``), ``message_delta`` with the usage, ``message_stop``.
A request past the end of the script is answered 500.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from smithers.agents.anthropic import OUTPUT_TOOL

__all__ = ["Call", "Cut", "Fail", "Reply", "ScriptedModel"]


@dataclass(frozen=True)
class Reply:
    """A final text answer, streamed in ``chunks`` pieces with ``delay_s`` between them."""

    text: str
    chunks: int = 3
    delay_s: float = 0.0
    input_tokens: int = 10
    output_tokens: int = 5
    cached_tokens: int = 0


@dataclass(frozen=True)
class Call:
    """A turn that calls tools: one ``(name, arguments)`` or several in ``more``."""

    name: str
    arguments: dict[str, object] = field(default_factory=dict)
    more: tuple[tuple[str, dict[str, object]], ...] = ()
    text: str = ""
    input_tokens: int = 10
    output_tokens: int = 5


@dataclass(frozen=True)
class Fail:
    """An HTTP error answer in the provider's error shape."""

    status: int
    message: str = "scripted failure"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Cut:
    """Some streamed text, then the connection dropped (no finish, no ``[DONE]``)."""

    text: str = "partial"


Step = Reply | Call | Fail | Cut


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _wants_output(body: dict[str, Any]) -> bool:
    return any(t.get("name") == OUTPUT_TOOL for t in body.get("tools") or ())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:
        """A client that went away mid-answer (a cancelled call) is not an error here."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            super().handle_error(request, client_address)


class ScriptedModel:
    """A loopback model server that plays ``script`` one request at a time."""

    def __init__(self, script: list[Step], *, model: str = "scripted-model") -> None:
        self.script = list(script)
        self.model = model
        self.requests: list[dict[str, object]] = []
        """Every request body, as JSON."""
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        """The path (and query string) of each request."""
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def anthropic_url(self) -> str:
        """The ``base_url`` to give an ``AnthropicAgent``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give an ``OpenAIAgent``."""
        return f"{self.anthropic_url}/v1"

    def __enter__(self) -> ScriptedModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, path: str, body: dict[str, object], headers: dict[str, str]) -> Step | None:
        with self._lock:
            self.paths.append(path)
            self.requests.append(body)
            self.headers.append(headers)
            return self.script.pop(0) if self.script else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.partition("?")[0]  # a base_url may carry a query string
                self.anthropic = path.endswith("/v1/messages")
                if not (self.anthropic or path.endswith("/chat/completions")):
                    self._error(404, "no such route")
                    return
                self.body = body
                headers = {k.lower(): v for k, v in self.headers.items()}
                step = scripted._next(self.path, body, headers)
                if step is None:
                    self._error(500, "the script has no more steps")
                elif isinstance(step, Fail):
                    self._error(step.status, step.message, step.headers)
                elif self.anthropic:
                    self._stream_anthropic(step)
                else:
                    self._stream(step)

            def _error(
                self, status: int, message: str, headers: dict[str, str] | None = None
            ) -> None:
                if self.anthropic:
                    error = {"type": "error", "error": {"type": "api_error", "message": message}}
                else:
                    error = {"error": {"message": message, "type": "scripted", "param": None}}
                payload = json.dumps(error).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _chunk(self, choices: list[Any], usage: dict[str, Any] | None = None) -> None:
                chunk: dict[str, Any] = {
                    "id": "chatcmpl-scripted",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": scripted.model,
                    "choices": choices,
                }
                if usage is not None:
                    chunk["usage"] = usage
                self._send(f"data: {json.dumps(chunk)}\n\n")

            def _send(self, text: str) -> None:
                self.wfile.write(text.encode())
                self.wfile.flush()

            def _open_stream(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()

            def _stream(self, step: Reply | Call | Cut) -> None:
                self._open_stream()
                role = {"index": 0, "delta": {"role": "assistant", "content": ""}}
                self._chunk([{**role, "finish_reason": None}])
                if isinstance(step, Cut):
                    self._chunk(
                        [{"index": 0, "delta": {"content": step.text}, "finish_reason": None}]
                    )
                    return  # the handler returns: the connection closes mid-answer
                if isinstance(step, Reply):
                    size = max(1, -(-len(step.text) // max(1, step.chunks)))
                    for start in range(0, len(step.text), size):
                        piece = step.text[start : start + size]
                        self._chunk(
                            [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]
                        )
                        if step.delay_s:
                            time.sleep(step.delay_s)
                    finish, tokens = (
                        "stop",
                        (step.input_tokens, step.output_tokens, step.cached_tokens),
                    )
                else:
                    if step.text:
                        self._chunk(
                            [{"index": 0, "delta": {"content": step.text}, "finish_reason": None}]
                        )
                    calls = [(step.name, step.arguments), *step.more]
                    for index, (name, arguments) in enumerate(calls):
                        text = json.dumps(arguments)
                        head = {
                            "index": index,
                            "id": f"call_{len(scripted.requests)}_{index}",
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }
                        self._chunk(
                            [{"index": 0, "delta": {"tool_calls": [head]}, "finish_reason": None}]
                        )
                        for part in (text[: len(text) // 2], text[len(text) // 2 :]):
                            delta = {
                                "tool_calls": [{"index": index, "function": {"arguments": part}}]
                            }
                            self._chunk([{"index": 0, "delta": delta, "finish_reason": None}])
                    finish, tokens = "tool_calls", (step.input_tokens, step.output_tokens, 0)
                self._chunk([{"index": 0, "delta": {}, "finish_reason": finish}])
                prompt, completion, cached = tokens
                usage = {
                    "prompt_tokens": prompt + cached,
                    "completion_tokens": completion,
                    "total_tokens": prompt + cached + completion,
                    "prompt_tokens_details": {"cached_tokens": cached},
                    "completion_tokens_details": {"reasoning_tokens": 0},
                }
                self._chunk([], usage)
                self._send("data: [DONE]\n\n")

            def _event(self, data: dict[str, Any]) -> None:
                self._send(f"event: {data['type']}\ndata: {json.dumps(data)}\n\n")

            def _stream_anthropic(self, step: Reply | Call | Cut) -> None:
                self._open_stream()
                prompt = getattr(step, "input_tokens", 10)
                cached = getattr(step, "cached_tokens", 0)
                message: dict[str, Any] = {
                    "id": "msg_scripted",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": scripted.model,
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": prompt,
                        "output_tokens": 1,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": cached,
                    },
                }
                self._event({"type": "message_start", "message": message})
                self._event({"type": "ping"})
                index = 0

                def text_block(text: str, pieces: int, delay: float) -> None:
                    nonlocal index
                    block = {"type": "text", "text": ""}
                    self._event(
                        {"type": "content_block_start", "index": index, "content_block": block}
                    )
                    size = max(1, -(-len(text) // max(1, pieces)))
                    for start in range(0, len(text), size):
                        delta = {"type": "text_delta", "text": text[start : start + size]}
                        self._event({"type": "content_block_delta", "index": index, "delta": delta})
                        if delay:
                            time.sleep(delay)
                    self._event({"type": "content_block_stop", "index": index})
                    index += 1

                if isinstance(step, Cut):
                    opening = {"type": "text", "text": ""}
                    self._event(
                        {"type": "content_block_start", "index": 0, "content_block": opening}
                    )
                    delta = {"type": "text_delta", "text": step.text}
                    self._event({"type": "content_block_delta", "index": 0, "delta": delta})
                    return  # the connection closes mid-answer
                answer = _json_object(step.text) if isinstance(step, Reply) else None
                if isinstance(step, Reply) and answer is not None and _wants_output(self.body):
                    # a model given the output tool answers through it, as it must
                    output_block = {
                        "type": "tool_use",
                        "id": f"toolu_{len(scripted.requests)}_out",
                        "name": OUTPUT_TOOL,
                        "input": {},
                    }
                    self._event(
                        {"type": "content_block_start", "index": 0, "content_block": output_block}
                    )
                    size = max(1, -(-len(step.text) // max(1, step.chunks)))
                    for start in range(0, len(step.text), size):
                        piece = {
                            "type": "input_json_delta",
                            "partial_json": step.text[start : start + size],
                        }
                        self._event({"type": "content_block_delta", "index": 0, "delta": piece})
                    self._event({"type": "content_block_stop", "index": 0})
                    stop = "tool_use"
                elif isinstance(step, Reply):
                    text_block(step.text, step.chunks, step.delay_s)
                    stop = "end_turn"
                else:
                    if step.text:
                        text_block(step.text, 1, 0.0)
                    for number, (name, arguments) in enumerate(
                        [(step.name, step.arguments), *step.more]
                    ):
                        block: dict[str, Any] = {
                            "type": "tool_use",
                            "id": f"toolu_{len(scripted.requests)}_{number}",
                            "name": name,
                            "input": {},
                        }
                        self._event(
                            {"type": "content_block_start", "index": index, "content_block": block}
                        )
                        text = json.dumps(arguments)
                        for part in (text[: len(text) // 2], text[len(text) // 2 :]):
                            delta = {"type": "input_json_delta", "partial_json": part}
                            self._event(
                                {"type": "content_block_delta", "index": index, "delta": delta}
                            )
                        self._event({"type": "content_block_stop", "index": index})
                        index += 1
                    stop = "tool_use"
                ending: dict[str, Any] = {"stop_reason": stop, "stop_sequence": None}
                usage = {"output_tokens": step.output_tokens}
                self._event({"type": "message_delta", "delta": ending, "usage": usage})
                self._event({"type": "message_stop"})

        return Handler
