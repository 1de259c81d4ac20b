"""A scripted model for tests: the OpenAI Chat Completions protocol, streamed, on loopback.

    with ScriptedModel([Call("read", {"path": "notes.md"}), Reply('{"summary": "ok"}')]) as model:
        agent = OpenAIAgent(model="scripted", base_url=model.base_url)
        ...  # run the workflow; model.requests holds every request body it received

Each request takes the next step of the script: ``Reply`` streams text (in ``chunks``),
``Call`` asks for tool calls, ``Fail`` answers an HTTP error (with headers such as
``retry-after``), ``Cut`` streams some text and drops the connection. The chunks follow the
shapes of the provider's documentation (``chat.completion.chunk``, tool-call deltas by
``index``, a final usage chunk, ``data: [DONE]``). A request past the end of the script is
answered 500.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
    arguments: dict[str, Any] = field(default_factory=dict)
    more: tuple[tuple[str, dict[str, Any]], ...] = ()
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer (a cancelled call) is not an error here."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            super().handle_error(request, client_address)


class ScriptedModel:
    """A loopback model server that plays ``script`` one request at a time."""

    def __init__(self, script: list[Step], *, model: str = "scripted-model") -> None:
        self.script = list(script)
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give an ``OpenAIAgent``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> ScriptedModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Step | None:
        with self._lock:
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
                if not self.path.endswith("/chat/completions"):
                    self._error(404, "no such route")
                    return
                step = scripted._next(body, {k.lower(): v for k, v in self.headers.items()})
                if step is None:
                    self._error(500, "the script has no more steps")
                elif isinstance(step, Fail):
                    self._error(step.status, step.message, step.headers)
                else:
                    self._stream(step)

            def _error(
                self, status: int, message: str, headers: dict[str, str] | None = None
            ) -> None:
                payload = json.dumps(
                    {"error": {"message": message, "type": "scripted", "param": None, "code": None}}
                ).encode()
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
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

            def _stream(self, step: Reply | Call | Cut) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
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
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        return Handler
