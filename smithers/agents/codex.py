"""``CodexAgent``: ``codex exec --json``.

Its lines: ``thread.started`` (the session id), ``item.started`` / ``item.completed`` (the
CLI's tool calls — ``command_execution``, ``file_change``, ``mcp_tool_call``,
``web_search`` — and its ``agent_message``, the answer), ``turn.completed`` (the usage,
cached input tokens counted apart), ``turn.failed`` and ``error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import msgspec

from smithers.agents import cli_events as events
from smithers.agents.coding_cli import CliAgent, decode_line
from smithers.agents.turns import Usage

__all__ = ["CodexAgent"]

_TOOLS = frozenset({"command_execution", "file_change", "mcp_tool_call", "web_search"})
_INPUTS = ("command", "query", "changes")
"""The fields of a tool item that are its call's input."""


class _Item(msgspec.Struct):
    type: str = ""
    id: str = ""
    text: str = ""
    command: object = msgspec.UNSET
    query: object = msgspec.UNSET
    changes: object = msgspec.UNSET
    aggregated_output: str | None = None
    exit_code: int | None = None
    status: str | None = None

    def tool_input(self) -> dict[str, object]:
        given = {name: getattr(self, name) for name in _INPUTS}
        return {name: value for name, value in given.items() if value is not msgspec.UNSET}


class _ThreadStarted(msgspec.Struct, tag_field="type", tag="thread.started"):
    thread_id: str = ""


class _ItemStarted(msgspec.Struct, tag_field="type", tag="item.started"):
    item: _Item


class _ItemCompleted(msgspec.Struct, tag_field="type", tag="item.completed"):
    item: _Item


class _Usage(msgspec.Struct):
    input_tokens: int | None = None
    cached_input_tokens: int | None = None
    output_tokens: int | None = None


class _TurnCompleted(msgspec.Struct, tag_field="type", tag="turn.completed"):
    usage: _Usage | None = None


class _Problem(msgspec.Struct):
    message: str | None = None


class _TurnFailed(msgspec.Struct, tag_field="type", tag="turn.failed"):
    error: _Problem | None = None


class _Error(msgspec.Struct, tag_field="type", tag="error"):
    message: str | None = None


_Line: TypeAlias = (
    _ThreadStarted | _ItemStarted | _ItemCompleted | _TurnCompleted | _TurnFailed | _Error
)
_lines = msgspec.json.Decoder(_Line)


def _ended(item: _Item) -> events.ToolEnded:
    failed = item.status == "failed" or item.exit_code not in (0, None)
    return events.ToolEnded(item.id, item.aggregated_output or item.status or "", ok=not failed)


def _usage(used: _Usage) -> Usage:
    cached = used.cached_input_tokens or 0
    return Usage(
        input_tokens=max(0, (used.input_tokens or 0) - cached),
        output_tokens=used.output_tokens or 0,
        cache_read_tokens=cached,
    )


@dataclass(frozen=True, slots=True)
class CodexAgent(CliAgent):
    """``codex exec --json [--output-schema FILE] [resume SESSION] -- PROMPT`` (after ``--`` a
    prompt that begins with ``-`` is not read as an option)."""

    executable: str = "codex"
    name: str = "codex"
    key_env: tuple[str, ...] = ("OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_HOME")

    def cli_argv(
        self, prompt: str, schema: events.SchemaArgs | None, session: str | None
    ) -> list[str]:
        argv = [self.executable, "exec", "--json", "--skip-git-repo-check"]
        if self.model:
            argv += ["--model", self.model]
        if schema is not None:
            argv += ["--output-schema", schema.path]
        argv += list(self.extra_args)
        if session:
            argv += ["resume", session]
        return [*argv, "--", prompt]

    def read_line(self, line: bytes) -> list[events.Event]:
        match decode_line(_lines, line):
            case _ThreadStarted(thread_id=thread) if thread:
                return [events.Session(thread)]
            case _ItemStarted(item=item) if item.type in _TOOLS:
                return [events.ToolStarted(item.id, item.type, item.tool_input())]
            case _ItemCompleted(item=item) if item.type in _TOOLS:
                return [_ended(item)]
            case _ItemCompleted(item=item) if item.type == "agent_message":
                return [events.Text(item.text), events.Result(item.text)]
            case _TurnCompleted(usage=used):
                return [events.Tokens(_usage(used or _Usage()))]
            case _TurnFailed(error=error):
                return [events.Failure((error or _Problem()).message or "turn failed")]
            case _Error(message=message):
                return [events.Failure(message or "error")]
        return []
