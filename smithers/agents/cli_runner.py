"""Running a CLI agent for one attempt: the subprocess in the run's root, its JSON lines read
as they come, killed whole (its process group) on cancel or timeout.

The CLI's text streams to ``NodeOutput`` (``stream: "agent"``) and its usage becomes
``TokenUsageReported``. Its session id is committed to the attempt's transcript as soon as
the CLI names it, so an interrupted attempt's successor resumes the CLI's own session. An
answer that does not fit the output type is corrected by calling the CLI again on its
session, up to ``output_retries`` times.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from smithers import tracing
from smithers.agents.cli import CliAgent, CliEvent, SchemaArgs
from smithers.agents.loop import TextBatcher, usage_dict
from smithers.errors import AgentError, InvalidOutput, ToolInterrupted
from smithers.secrets import looks_secret, redact, register
from smithers.tools.calls import CallEnd, CallStart, CallStatus, ToolRecorder, bounded_json
from smithers.tools.shell import kill_group
from smithers.tools.tool import struct_schema

if TYPE_CHECKING:
    from smithers.authoring.context import TaskContext

__all__ = ["CliAgentFailed", "run_cli_agent"]

_STDERR_TAIL = 2000
"""The end of the CLI's stderr an error message shows (in characters)."""
STDERR_KEPT = 64 * 1024
"""The end of the CLI's stderr kept in memory while it runs (in bytes); the rest is dropped."""


class CliAgentFailed(AgentError):
    """The coding CLI failed (its error, or its exit status and the end of its stderr)."""

    code = "CLI_AGENT_FAILED"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class CliToolCalls:
    """The tool calls a CLI reports during one attempt, recorded in the run's tool-call log
    and events (under ids unique within the attempt: a resumed CLI may repeat one)."""

    def __init__(self, recorder: ToolRecorder | None) -> None:
        self.recorder = recorder
        self.open: dict[str, tuple[str, str, int]] = {}
        """The CLI's call id → the logged id, the tool, and when it started."""
        self.used: set[str] = set()

    def _unique(self, call_id: str) -> str:
        unique, n = call_id, 1
        while unique in self.used:
            n += 1
            unique = f"{call_id}#{n}"
        self.used.add(unique)
        return unique

    async def started(self, event: CliEvent) -> None:
        """A call the CLI began."""
        now = _now_ms()
        logged = self._unique(event.call_id)
        self.open[event.call_id] = (logged, event.tool, now)
        if self.recorder is not None:
            try:
                arguments = msgspec.json.decode(event.text or "{}")
            except msgspec.DecodeError:
                arguments = event.text
            input_json, _ = bounded_json(arguments)
            await self.recorder.started(CallStart(logged, event.tool, input_json, now))

    def finished(self, event: CliEvent, status: CallStatus | None = None) -> None:
        """A call the CLI ended (or that ended with it: ``interrupted``)."""
        opened = self.open.pop(event.call_id, None)
        if opened is None or self.recorder is None:
            return  # an end without a start: nothing was logged to end
        logged, tool, started = opened
        status = status or ("ok" if event.ok else "error")
        output_json, size = bounded_json(event.text) if status == "ok" else (None, 0)
        error = None
        if status == "error":
            message = redact(event.text[:500])
            error = {"name": "CliToolError", "message": message, "code": "TOOL_FAILED"}
        elif status == "interrupted":
            error = ToolInterrupted("the CLI ended before this call finished").to_json()
        end = CallEnd(logged, tool, status, output_json, size, error, started, _now_ms())
        self.recorder.finished(end)

    def close(self) -> None:
        """End the calls the CLI never finished."""
        for call_id in list(self.open):
            self.finished(CliEvent("tool_end", call_id=call_id), "interrupted")


def _environment(agent: CliAgent) -> dict[str, str]:
    """The CLI's environment; the values of its credential variables are known as secrets."""
    env = {name: os.environ[name] for name in agent.env_names if name in os.environ}
    for name, value in env.items():
        if looks_secret(name):
            register(value)
    return env


async def _stderr_tail(stream: asyncio.StreamReader | None) -> bytes:
    """The last ``STDERR_KEPT`` bytes of ``stream`` (read to its end)."""
    kept = bytearray()
    while stream is not None and (chunk := await stream.read(STDERR_KEPT)):
        kept += chunk
        if len(kept) > STDERR_KEPT:
            del kept[: len(kept) - STDERR_KEPT]
    return bytes(kept)


async def _call(
    agent: CliAgent, ctx: TaskContext, argv: list[str], on_session: Any, calls: CliToolCalls
) -> tuple[str, list[CliEvent]]:
    """One CLI run: its final text and events; ``CLI_AGENT_FAILED`` when it fails."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=ctx.root_dir,
        env=_environment(agent),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # one process group, killed whole
        limit=16 * 1024 * 1024,
    )
    batcher = TextBatcher(ctx.agent_output)
    events: list[CliEvent] = []
    stderr_task = asyncio.ensure_future(_stderr_tail(proc.stderr))
    try:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            try:
                line = msgspec.json.decode(raw)
            except msgspec.DecodeError:
                continue  # a banner or a log line: not part of the protocol
            if not isinstance(line, dict):
                continue
            for event in agent.read_line(line):
                events.append(event)
                if event.kind == "text" and event.text:
                    batcher.add(event.text)
                elif event.kind == "usage" and event.usage is not None:
                    ctx.report_usage(agent.name, agent.model or "default", usage_dict(event.usage))
                elif event.kind == "session":
                    await on_session(event.text)
                elif event.kind == "tool_start":
                    await calls.started(event)
                elif event.kind == "tool_end":
                    calls.finished(event)
        code = await proc.wait()
        stderr = await stderr_task
    finally:
        batcher.flush()
        calls.close()
        await kill_group(proc)
        stderr_task.cancel()
    errors = [e.text for e in events if e.kind == "error"]
    if errors or code != 0:
        tail = stderr.decode(errors="replace")[-_STDERR_TAIL:].strip()
        detail = errors[-1] if errors else tail or "no output"
        raise CliAgentFailed(f"{agent.executable} exited {code}: {detail}")
    results = [e.text for e in events if e.kind == "result" and e.text]
    text = results[-1] if results else "".join(e.text for e in events if e.kind == "text")
    return text, events


async def run_cli_agent(
    agent: CliAgent, ctx: TaskContext, prompt: str, output: type[msgspec.Struct] | None
) -> Any:
    """Run the CLI until it answers (decoded into ``output`` when given)."""
    memory = ctx.agent_memory
    session: str | None = None
    if memory is not None:
        for role, content in (await memory.recall()).turns:
            if role == "session":
                session = str(content)  # an interrupted attempt's session: resume it

    async def on_session(found: str) -> None:
        nonlocal session
        if found != session:
            session = found
            if memory is not None:
                await memory.save("session", found)

    schema = None if output is None else struct_schema(output)
    calls = CliToolCalls(ctx.tools.recorder)
    with tempfile.TemporaryDirectory(prefix="smithers-cli-") as private:
        schema_args: SchemaArgs | None = None
        if schema is not None and agent.schema_in_prompt:
            prompt += (
                "\n\nGive your final answer as a single JSON object, and nothing else, matching "
                f"this JSON Schema: {msgspec.json.encode(schema).decode()}"
            )
        elif schema is not None:
            text = msgspec.json.encode(schema).decode()
            schema_args = SchemaArgs(text, str(Path(private) / "output-schema.json"))
            await asyncio.to_thread(Path(schema_args.path).write_text, text)
        ask = prompt
        for correction in range(agent.output_retries + 1):
            with tracing.model_span(agent.name, agent.model or "default") as span:
                text, events = await _call(
                    agent, ctx, agent.cli_argv(ask, schema_args, session), on_session, calls
                )
                used = [e.usage for e in events if e.kind == "usage" and e.usage is not None]
                span.set_attribute(tracing.GENAI_INPUT_TOKENS, sum(u.input_tokens for u in used))
                span.set_attribute(tracing.GENAI_OUTPUT_TOKENS, sum(u.output_tokens for u in used))
            if output is None:
                return {"text": text}
            try:
                return msgspec.json.decode(text.strip(), type=output)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                if correction == agent.output_retries or session is None:
                    raise InvalidOutput(
                        f"the agent's answer does not fit {output.__name__}: {exc}"
                    ) from None
                ask = (
                    f"Your answer is not valid: {exc}. Answer again with only a JSON object "
                    "that matches the schema you were given."
                )
    raise AssertionError("unreachable")  # pragma: no cover
