"""Running a CLI agent for one attempt: the subprocess in the run's root, its JSON lines read
as they come, killed whole (its process group) on cancel or timeout.

The CLI's text streams to ``NodeOutput`` (``stream: "agent"``) and its usage becomes
``TokenUsageReported``. Its session id is committed to the attempt's transcript (a
``SessionTurn``) as soon as the CLI names it, so an interrupted attempt's successor resumes
the CLI's own session. The tool calls the CLI reports go to the attempt's tool-call log (the
``Toolbox``'s). An answer that does not fit the output type is corrected by calling the CLI
again on its session, up to ``output_retries`` times.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from smithers import tracing
from smithers.agents import cli_events as events
from smithers.agents.base import Answer, Misfit, TextBatcher, decode_answer
from smithers.agents.transcript import Transcript
from smithers.agents.turns import SessionTurn
from smithers.errors import AgentError, ToolFailed
from smithers.secrets import looks_secret, redact, register
from smithers.tools.calls import LoggedCall, ToolCallLog
from smithers.tools.shell import kill_group
from smithers.tools.tool import struct_schema

if TYPE_CHECKING:
    from smithers.agents.coding_cli import CliAgent
    from smithers.authoring.context import TaskContext

__all__ = ["CliAgentFailed", "run_cli_agent"]

_STDERR_TAIL = 2000
"""The end of the CLI's stderr an error message shows (in characters)."""
STDERR_KEPT = 64 * 1024
"""The end of the CLI's stderr kept in memory while it runs (in bytes); the rest is dropped."""


class CliAgentFailed(AgentError):
    """The coding CLI failed (its error, or its exit status and the end of its stderr)."""

    code = "CLI_AGENT_FAILED"


class CliToolCalls:
    """The tool calls a CLI reports during one attempt, in the attempt's tool-call log (under
    ids unique within the attempt: a resumed CLI may repeat one)."""

    def __init__(self, log: ToolCallLog) -> None:
        self.log = log
        self.open: dict[str, LoggedCall] = {}
        """The CLI's call id → the call logged for it."""
        self.used: set[str] = set()

    def _unique(self, call_id: str) -> str:
        unique, n = call_id, 1
        while unique in self.used:
            n += 1
            unique = f"{call_id}#{n}"
        self.used.add(unique)
        return unique

    async def started(self, event: events.ToolStarted) -> None:
        """A call the CLI began."""
        call = self.log.call(event.tool, event.arguments, self._unique(event.call_id))
        self.open[event.call_id] = call
        await call.start()

    def ended(self, event: events.ToolEnded) -> None:
        """A call the CLI ended (an end without a start ends nothing)."""
        call = self.open.pop(event.call_id, None)
        if call is None:
            return
        if event.ok:
            call.ok(event.output)
        else:
            call.fail(ToolFailed(redact(event.output[:500])))

    def close(self) -> None:
        """End the calls the CLI never finished."""
        for call in self.open.values():
            call.interrupt("the CLI ended before this call finished")
        self.open.clear()


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
    agent: CliAgent,
    ctx: TaskContext,
    argv: list[str],
    on_session: Callable[[str], Awaitable[None]],
    calls: CliToolCalls,
) -> tuple[str, list[events.Event]]:
    """One CLI run: its final text and what it said; ``CLI_AGENT_FAILED`` when it fails."""
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
    said: list[events.Event] = []
    stderr_task = asyncio.ensure_future(_stderr_tail(proc.stderr))
    try:
        assert proc.stdout is not None
        async for line in proc.stdout:
            for event in agent.read_line(line):
                said.append(event)
                match event:
                    case events.Text(text=text) if text:
                        batcher.add(text)
                    case events.Tokens(usage=usage):
                        ctx.report_usage(agent.name, agent.model or "default", usage.counts())
                    case events.Session(session_id=session):
                        await on_session(session)
                    case events.ToolStarted():
                        await calls.started(event)
                    case events.ToolEnded():
                        calls.ended(event)
        code = await proc.wait()
        stderr = await stderr_task
    finally:
        batcher.flush()
        calls.close()
        await kill_group(proc)
        stderr_task.cancel()
    errors = [e.message for e in said if isinstance(e, events.Failure)]
    if errors or code != 0:
        tail = stderr.decode(errors="replace")[-_STDERR_TAIL:].strip()
        detail = errors[-1] if errors else tail or "no output"
        raise CliAgentFailed(f"{agent.executable} exited {code}: {detail}")
    results = [e.text for e in said if isinstance(e, events.Result) and e.text]
    text = results[-1] if results else "".join(e.text for e in said if isinstance(e, events.Text))
    return text, said


async def run_cli_agent(
    agent: CliAgent, ctx: TaskContext, prompt: str, output: type[msgspec.Struct] | None
) -> Answer:
    """Run the CLI until it answers (decoded into ``output`` when given)."""
    transcript = Transcript(ctx.agent_memory)
    session = (await transcript.recall())[0].session  # an interrupted attempt's: resume it

    async def on_session(found: str) -> None:
        nonlocal session
        if found != session:
            session = found
            await transcript.save(SessionTurn(found))

    schema = None if output is None else struct_schema(output)
    calls = CliToolCalls(ctx.tools.log)
    with tempfile.TemporaryDirectory(prefix="smithers-cli-") as private:
        schema_args: events.SchemaArgs | None = None
        if schema is not None and agent.schema_in_prompt:
            prompt += (
                "\n\nGive your final answer as a single JSON object, and nothing else, matching "
                f"this JSON Schema: {msgspec.json.encode(schema).decode()}"
            )
        elif schema is not None:
            text = msgspec.json.encode(schema).decode()
            schema_args = events.SchemaArgs(text, str(Path(private) / "output-schema.json"))
            await asyncio.to_thread(Path(schema_args.path).write_text, text)
        ask = prompt
        for correction in range(agent.output_retries + 1):
            with tracing.model_span(agent.name, agent.model or "default") as span:
                text, said = await _call(
                    agent, ctx, agent.cli_argv(ask, schema_args, session), on_session, calls
                )
                used = [e.usage for e in said if isinstance(e, events.Tokens)]
                span.set_attribute(tracing.GENAI_INPUT_TOKENS, sum(u.input_tokens for u in used))
                span.set_attribute(tracing.GENAI_OUTPUT_TOKENS, sum(u.output_tokens for u in used))
            if output is None:
                return {"text": text}
            decoded = decode_answer(text, output)
            if not isinstance(decoded, Misfit):
                return decoded
            if correction == agent.output_retries or session is None:
                raise decoded.failure()
            ask = decoded.correction
    raise AssertionError("unreachable")  # pragma: no cover
