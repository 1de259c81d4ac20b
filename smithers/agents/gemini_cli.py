"""``GeminiCliAgent``: ``gemini --output-format stream-json``.

Its lines: ``init`` (the session id), ``message`` (the assistant's text, in chunks),
``tool_use`` / ``tool_result`` (the CLI's tool calls), and the ``result`` (``status``,
``stats``, ``error``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeAlias

import msgspec

from smithers.agents import cli_events as events
from smithers.agents.coding_cli import CliAgent, decode_line
from smithers.agents.turns import Usage

__all__ = ["GeminiCliAgent"]


class _Init(msgspec.Struct, tag_field="type", tag="init"):
    session_id: str | None = None


class _Message(msgspec.Struct, tag_field="type", tag="message"):
    role: str = ""
    content: str = ""


class _ToolUse(msgspec.Struct, tag_field="type", tag="tool_use"):
    tool_id: str = ""
    tool_name: str = ""
    parameters: object = None


class _Problem(msgspec.Struct):
    message: str | None = None


class _ToolResult(msgspec.Struct, tag_field="type", tag="tool_result"):
    tool_id: str = ""
    status: str = ""
    output: str | None = None
    error: _Problem | None = None


class _Stats(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached: int | None = None


class _Result(msgspec.Struct, tag_field="type", tag="result"):
    status: str = ""
    stats: _Stats | None = None
    error: _Problem | None = None


_Line: TypeAlias = _Init | _Message | _ToolUse | _ToolResult | _Result
_lines = msgspec.json.Decoder(_Line)


def _result(line: _Result) -> list[events.Event]:
    stats = line.stats or _Stats()
    cached = stats.cached or 0
    usage = Usage(
        input_tokens=max(0, (stats.input_tokens or 0) - cached),
        output_tokens=stats.output_tokens or 0,
        cache_read_tokens=cached,
    )
    if line.status == "success":
        return [events.Tokens(usage), events.Result()]
    message = (line.error or _Problem()).message or "the CLI reported an error"
    return [events.Tokens(usage), events.Failure(message)]


@dataclass(frozen=True, slots=True)
class GeminiCliAgent(CliAgent):
    """``gemini --prompt=PROMPT --output-format stream-json`` (the output schema goes in the
    prompt: the CLI has no flag for it; ``--resume SESSION`` to continue). The prompt is the
    option's attached value, the form in which yargs never reads a value beginning with ``-``
    as another option (``-p -x`` would give ``-p`` an empty prompt)."""

    executable: str = "gemini"
    name: str = "gemini-cli"
    key_env: tuple[str, ...] = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_CLOUD_PROJECT")

    schema_in_prompt: ClassVar[bool] = True

    def cli_argv(
        self, prompt: str, schema: events.SchemaArgs | None, session: str | None
    ) -> list[str]:
        argv = [self.executable, f"--prompt={prompt}", "--output-format", "stream-json"]
        if self.model:
            argv += ["--model", self.model]
        if session:
            argv += ["--resume", session]
        return [*argv, *self.extra_args]

    def read_line(self, line: bytes) -> list[events.Event]:
        match decode_line(_lines, line):
            case _Init(session_id=session) if session:
                return [events.Session(session)]
            case _Message(role="assistant", content=text):
                return [events.Text(text)]
            case _ToolUse() as use:
                return [events.ToolStarted(use.tool_id, use.tool_name, use.parameters or {})]
            case _ToolResult() as result:
                output = result.output or (result.error or _Problem()).message or ""
                return [events.ToolEnded(result.tool_id, output, ok=result.status == "success")]
            case _Result() as result:
                return _result(result)
        return []
