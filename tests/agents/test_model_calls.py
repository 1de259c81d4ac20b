"""One model call's limits and what it lets out, against loopback providers: a key echoed by
a 401 (OpenAI and Anthropic wire shapes) is stored as ``***``; an endpoint's userinfo and
query string are in no log line; ``timeout`` is the call's total deadline (a dripping
endpoint does not outlive it, nor does a ``retry-after`` past it); error bodies are read up
to 64 KiB."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from smithers.agents.testing import Call, Fail, Reply, ScriptedModel
from tests.helpers import Harness

WORKFLOW = """
import os
from smithers import Task, Sequence, workflow
from smithers.agents import {cls}

agent = {cls}(model="m", base_url=os.environ["MODEL_URL"], timeout={timeout}, max_retries=2)

@workflow("calls")
def build(ctx):
    return Sequence(Task("ask", agent=agent, prompt="Hello."))
"""

KEY = "sk-proj-echoed-back-by-the-provider-0042"


def _workflow(tmp_path: Path, cls: str = "OpenAIAgent", timeout: float = 30) -> Path:
    path = tmp_path / "calls.py"
    path.write_text(WORKFLOW.format(cls=cls, timeout=timeout))
    return path


async def _failed_error(h: Harness, run_id: str) -> dict[str, Any]:
    events = await h.events(run_id)
    (failed,) = [e for e in events if e["type"] == "NodeFailed"]
    return dict(failed["error"])


@pytest.mark.parametrize(
    ("cls", "env", "url"),
    [
        ("OpenAIAgent", "OPENAI_API_KEY", "base_url"),
        ("AnthropicAgent", "ANTHROPIC_API_KEY", "anthropic_url"),
    ],
)
async def test_a_key_in_a_providers_401_is_stored_and_shown_as_stars(
    cls: str,
    env: str,
    url: str,
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(env, KEY)
    with ScriptedModel([Fail(401, f"Incorrect API key provided: {KEY}.")]) as model:
        monkeypatch.setenv("MODEL_URL", getattr(model, url))
        async with Harness(sqlite_url) as h:
            run_id, outcome = await h.run(_workflow(tmp_path, cls))
            events = await h.events(run_id)
            attempts = await h.store.reads.list_attempts(run_id)
            row = await h.store.reads.get_run(run_id)
    assert outcome.status == "failed"
    (failed,) = [e for e in events if e["type"] == "NodeFailed"]
    assert failed["error"]["code"] == "MODEL_CALL_FAILED"
    assert failed["error"]["message"].endswith(
        "401 from " + cls[:-5].lower() + ": Incorrect API key provided: ***."
    )
    stored = [a.error_json or "" for a in attempts] + [row.error_json or "" if row else ""]
    assert KEY not in json.dumps(events) and not any(KEY in text for text in stored)
    assert "***" in stored[0]
    assert KEY not in caplog.text


async def test_an_endpoints_userinfo_and_query_are_in_no_log_line_or_error(
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="httpx")
    with ScriptedModel([Fail(401, "api-key qs-key-never-logged-77 is revoked")]) as model:
        host = model.base_url.removeprefix("http://")
        base = f"http://gateway:url-pass-never-logged@{host}?api-key=qs-key-never-logged-77"
        monkeypatch.setenv("MODEL_URL", base)
        async with Harness(sqlite_url) as h:
            run_id, outcome = await h.run(_workflow(tmp_path))
            error = await _failed_error(h, run_id)
    assert outcome.status == "failed"
    # the request went to the path under the endpoint, with its query string kept
    assert model.paths == ["/v1/chat/completions?api-key=qs-key-never-logged-77"]
    (line,) = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert line.startswith(f"HTTP Request: POST http://{host}/chat/completions ")
    assert "never-logged" not in caplog.text
    assert error["message"] == "401 from openai: api-key *** is revoked"


TOOL_WORKFLOW = """
import os
from smithers import Task, Sequence, workflow
from smithers.agents import OpenAIAgent
from smithers.tools import ToolContext, tool

@tool
async def upstream(t: ToolContext) -> str:
    \"\"\"Calls a service that echoes the key.\"\"\"
    raise RuntimeError("upstream refused key " + os.environ["OPENAI_API_KEY"])

agent = OpenAIAgent(model="m", base_url=os.environ["MODEL_URL"], tools=[upstream])

@workflow("tool")
def build(ctx):
    return Sequence(Task("ask", agent=agent, prompt="Call upstream."))
"""


async def test_a_key_in_a_tools_error_is_stars_for_the_model_the_log_and_events(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    (tmp_path / "tool.py").write_text(TOOL_WORKFLOW)
    with ScriptedModel([Call("upstream"), Reply("it refused")]) as model:
        monkeypatch.setenv("MODEL_URL", model.base_url)
        async with Harness(sqlite_url) as h:
            run_id, outcome = await h.run(tmp_path / "tool.py")
            events = await h.events(run_id)
            (call,) = await h.store.reads.list_tool_calls(run_id)
            turns = await h.store.reads.run_transcript(run_id)
    assert outcome.status == "finished"
    (finished,) = [e for e in events if e["type"] == "ToolCallFinished"]
    assert finished["error"]["message"] == "upstream: RuntimeError: upstream refused key ***"
    assert call.error_json is not None and "refused key ***" in call.error_json
    (result,) = [m for m in model.requests[1]["messages"] if m["role"] == "tool"]
    assert "refused key ***" in result["content"]
    stored = json.dumps(events) + call.error_json + "".join(t.content_json for t in turns)
    assert KEY not in stored and KEY not in json.dumps(model.requests)


class _Provider(ThreadingHTTPServer):
    """A loopback endpoint answering every POST with ``answer(handler)``."""

    daemon_threads = True

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.done = threading.Event()
        self.sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    server.answer(self)
                except OSError:
                    pass  # the client went away
                finally:
                    server.done.set()

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@pytest.fixture
def provider() -> Iterator[Any]:
    servers: list[_Provider] = []

    def start(answer: Any) -> _Provider:
        server = _Provider(answer)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _drip(handler: BaseHTTPRequestHandler) -> None:
    """An answer stream that starts and then sends one byte every 0.2 s, for a minute."""
    handler.send_response(200)
    handler.send_header("content-type", "text/event-stream")
    handler.end_headers()
    chunk = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    handler.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
    for _ in range(300):
        handler.wfile.write(b":")  # an SSE comment, a byte at a time
        handler.wfile.flush()
        time.sleep(0.2)


async def test_timeout_is_the_whole_calls_deadline_not_a_read_timeout(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, provider: Any
) -> None:
    server = provider(_drip)
    monkeypatch.setenv("MODEL_URL", server.url)
    async with Harness(sqlite_url) as h:
        began = time.monotonic()
        run_id, outcome = await asyncio.wait_for(h.run(_workflow(tmp_path, timeout=1.0)), 20)
        elapsed = time.monotonic() - began
        error = await _failed_error(h, run_id)
    assert outcome.status == "failed" and elapsed < 5
    assert error["code"] == "MODEL_CALL_FAILED"
    assert "no complete answer within the call's 1 s timeout" in error["message"]


async def test_a_retry_whose_wait_passes_the_deadline_is_not_made(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = [Fail(429, "slow down", {"retry-after": "30"}), Reply("never asked")]
    with ScriptedModel(script) as model:
        monkeypatch.setenv("MODEL_URL", model.base_url)
        async with Harness(sqlite_url) as h:
            began = time.monotonic()
            run_id, outcome = await asyncio.wait_for(h.run(_workflow(tmp_path, timeout=2)), 20)
            elapsed = time.monotonic() - began
            error = await _failed_error(h, run_id)
    assert outcome.status == "failed" and elapsed < 5 and len(model.requests) == 1
    assert error["message"].startswith("429 from openai: slow down (not retried")


BODY_BYTES = 64 * 1024 * 1024


async def test_an_error_body_is_read_up_to_64_kib(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, provider: Any
) -> None:
    def huge(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(400)
        handler.send_header("content-type", "text/plain")
        handler.send_header("content-length", str(BODY_BYTES))
        handler.end_headers()
        block = b"e" * 65536
        for _ in range(BODY_BYTES // len(block)):
            handler.wfile.write(block)
            server.sent += len(block)

    server = provider(huge)
    monkeypatch.setenv("MODEL_URL", server.url)
    async with Harness(sqlite_url) as h:
        run_id, outcome = await asyncio.wait_for(h.run(_workflow(tmp_path)), 20)
        error = await _failed_error(h, run_id)
    assert outcome.status == "failed"
    assert error["message"] == "400 from openai: " + "e" * 500
    assert server.done.wait(10)
    # the client closed the connection after 64 KiB: the rest never left the server's buffers
    assert server.sent < BODY_BYTES // 4, server.sent
