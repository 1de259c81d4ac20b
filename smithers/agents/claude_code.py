"""``ClaudeCodeAgent``: ``claude -p --output-format stream-json --verbose``.

Its lines: ``system`` (``init``, with the session id), ``assistant`` and ``user`` messages
(text and ``tool_use`` blocks; ``tool_result`` blocks), and the ``result`` (the answer, the
usage, ``is_error`` / ``subtype``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import msgspec

from smithers.agents import cli_events as events
from smithers.agents.coding_cli import CliAgent, decode_line
from smithers.agents.turns import Usage

__all__ = ["ClaudeCodeAgent"]


class _Block(msgspec.Struct):
    """A content block of a message: ``text``, ``tool_use`` or ``tool_result``."""

    type: str
    text: str = ""
    id: str = ""
    name: str = ""
    input: object = None
    tool_use_id: str = ""
    content: object = None
    is_error: bool = False


class _Message(msgspec.Struct):
    content: list[_Block] | str = ""


class _System(msgspec.Struct, tag_field="type", tag="system"):
    session_id: str | None = None


class _Assistant(msgspec.Struct, tag_field="type", tag="assistant"):
    message: _Message | None = None


class _User(msgspec.Struct, tag_field="type", tag="user"):
    message: _Message | None = None


class _Usage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None


class _Result(msgspec.Struct, tag_field="type", tag="result"):
    subtype: str = ""
    is_error: bool = False
    result: str | None = None
    session_id: str | None = None
    usage: _Usage | None = None


_Line: TypeAlias = _System | _Assistant | _User | _Result
_lines = msgspec.json.Decoder(_Line)


def _blocks(message: _Message | None) -> list[_Block]:
    return [] if message is None or isinstance(message.content, str) else message.content


def _result(line: _Result) -> list[events.Event]:
    used = line.usage or _Usage()
    usage = Usage(
        input_tokens=used.input_tokens or 0,
        output_tokens=used.output_tokens or 0,
        cache_read_tokens=used.cache_read_input_tokens or 0,
        cache_write_tokens=used.cache_creation_input_tokens or 0,
    )
    text = line.result or line.subtype
    failed = line.is_error or line.subtype != "success"
    return [events.Tokens(usage), events.Failure(text) if failed else events.Result(text)]


@dataclass(frozen=True, slots=True)
class ClaudeCodeAgent(CliAgent):
    """``claude -p --output-format stream-json --verbose … -- PROMPT`` (``--json-schema`` for
    an output type, ``--resume SESSION`` to continue; after ``--`` a prompt that begins with
    ``-`` is not read as an option)."""

    executable: str = "claude"
    name: str = "claude-code"
    key_env: tuple[str, ...] = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN")

    def cli_argv(
        self, prompt: str, schema: events.SchemaArgs | None, session: str | None
    ) -> list[str]:
        argv = [self.executable, "-p", "--output-format", "stream-json", "--verbose"]
        if self.model:
            argv += ["--model", self.model]
        if schema is not None:
            argv += ["--json-schema", schema.text]
        if session:
            argv += ["--resume", session]
        return [*argv, *self.extra_args, "--", prompt]

    def read_line(self, line: bytes) -> list[events.Event]:
        said: list[events.Event] = []
        match decode_line(_lines, line):
            case _System(session_id=session) if session:
                said.append(events.Session(session))
            case _Assistant(message=message):
                for block in _blocks(message):
                    if block.type == "text":
                        said.append(events.Text(block.text))
                    elif block.type == "tool_use":
                        said.append(events.ToolStarted(block.id, block.name, block.input or {}))
            case _User(message=message):
                for block in _blocks(message):
                    if block.type == "tool_result":
                        content = block.content
                        text = content if isinstance(content, str) else _json(content)
                        said.append(
                            events.ToolEnded(block.tool_use_id, text, ok=not block.is_error)
                        )
            case _Result() as result:
                if result.session_id:
                    said.append(events.Session(result.session_id))
                said += _result(result)
        return said


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()
