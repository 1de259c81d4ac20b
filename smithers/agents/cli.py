"""Coding CLIs as agents: Claude Code, Codex and Gemini CLI in their non-interactive JSON-lines
modes, as subprocesses in the run's root.

Each agent says how to call its CLI (``cli_argv``) and how to read one line of its output
(``read_line`` → ``CliEvent``s); ``smithers.agents.cli_runner`` runs them. The CLI runs its
own tools (not the run's ``Toolbox``); the calls it reports become the run's tool-call log
entries and events all the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from smithers.agents.conversation import Usage

__all__ = [
    "ClaudeCodeAgent",
    "CliAgent",
    "CliEvent",
    "CodexAgent",
    "GeminiCliAgent",
    "SchemaArgs",
]

_CODEX_TOOLS = frozenset({"command_execution", "file_change", "mcp_tool_call", "web_search"})

BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "TZ", "TMPDIR", "XDG_CONFIG_HOME")
"""Variables every CLI gets from the server's environment; the agent adds its own keys."""


@dataclass(frozen=True, slots=True)
class SchemaArgs:
    """The output type's JSON Schema, as text and as a file (for CLIs that want a path)."""

    text: str
    path: str


@dataclass(frozen=True, slots=True)
class CliEvent:
    """What one output line says."""

    kind: Literal["session", "text", "usage", "result", "error", "tool_start", "tool_end"]
    text: str = ""
    """The text; for a tool's start its input as JSON, for its end its output."""
    usage: Usage | None = None
    call_id: str = ""
    tool: str = ""
    ok: bool = True


def _int(data: Any, key: str) -> int:
    value = data.get(key) if isinstance(data, dict) else None
    return int(value) if isinstance(value, int | float) else 0


def _dict(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class CliAgent:
    """Common fields of the CLI agents."""

    model: str | None = None
    executable: str = ""
    extra_args: Sequence[str] = ()
    env: Sequence[str] = ()
    """More variable names passed from the server's environment (the CLI's key is already)."""
    output_retries: int = 2
    name: str = "cli"
    key_env: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        """``name:model``, as frames and events show the agent."""
        return f"{self.name}:{self.model or 'default'}"

    @property
    def env_names(self) -> tuple[str, ...]:
        """Every variable the CLI may see."""
        return (*BASE_ENV, *self.key_env, *self.env)

    def cli_argv(self, prompt: str, schema: SchemaArgs | None, session: str | None) -> list[str]:
        """The command line of one call."""
        raise NotImplementedError

    def read_line(self, line: dict[str, Any]) -> list[CliEvent]:
        """The events of one JSON line of output."""
        raise NotImplementedError

    @property
    def schema_in_prompt(self) -> bool:
        """Whether the output schema goes in the prompt (no flag for it)."""
        return False


@dataclass(frozen=True, slots=True)
class ClaudeCodeAgent(CliAgent):
    """``claude -p --output-format stream-json --verbose … -- PROMPT`` (``--json-schema`` for
    an output type, ``--resume SESSION`` to continue; after ``--`` a prompt that begins with
    ``-`` is not read as an option)."""

    executable: str = "claude"
    name: str = "claude-code"
    key_env: tuple[str, ...] = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN")

    def cli_argv(self, prompt: str, schema: SchemaArgs | None, session: str | None) -> list[str]:
        argv = [self.executable, "-p", "--output-format", "stream-json", "--verbose"]
        if self.model:
            argv += ["--model", self.model]
        if schema is not None:
            argv += ["--json-schema", schema.text]
        if session:
            argv += ["--resume", session]
        return [*argv, *self.extra_args, "--", prompt]

    def read_line(self, line: dict[str, Any]) -> list[CliEvent]:
        kind = line.get("type")
        events: list[CliEvent] = []
        if line.get("session_id") and kind in ("system", "result"):
            events.append(CliEvent("session", str(line["session_id"])))
        if kind == "assistant":
            for block in _dict(line, "message").get("content") or ():
                if isinstance(block, dict) and block.get("type") == "text":
                    events.append(CliEvent("text", str(block.get("text", ""))))
                elif isinstance(block, dict) and block.get("type") == "tool_use":
                    arguments = json.dumps(block.get("input") or {})
                    events.append(
                        CliEvent(
                            "tool_start",
                            arguments,
                            call_id=str(block.get("id")),
                            tool=str(block.get("name")),
                        )
                    )
        elif kind == "user":
            for block in _dict(line, "message").get("content") or ():
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    content = block.get("content")
                    text = content if isinstance(content, str) else json.dumps(content)
                    ok = not block.get("is_error")
                    call_id = str(block.get("tool_use_id"))
                    events.append(CliEvent("tool_end", text, call_id=call_id, ok=ok))
        elif kind == "result":
            usage = _dict(line, "usage")
            events.append(
                CliEvent(
                    "usage",
                    usage=Usage(
                        input_tokens=_int(usage, "input_tokens"),
                        output_tokens=_int(usage, "output_tokens"),
                        cache_read_tokens=_int(usage, "cache_read_input_tokens"),
                        cache_write_tokens=_int(usage, "cache_creation_input_tokens"),
                    ),
                )
            )
            text = str(line.get("result") or "")
            failed = line.get("is_error") or line.get("subtype") != "success"
            events.append(
                CliEvent("error" if failed else "result", text or str(line.get("subtype")))
            )
        return events


@dataclass(frozen=True, slots=True)
class CodexAgent(CliAgent):
    """``codex exec --json [--output-schema FILE] [resume SESSION] -- PROMPT`` (after ``--`` a
    prompt that begins with ``-`` is not read as an option)."""

    executable: str = "codex"
    name: str = "codex"
    key_env: tuple[str, ...] = ("OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_HOME")

    def cli_argv(self, prompt: str, schema: SchemaArgs | None, session: str | None) -> list[str]:
        argv = [self.executable, "exec", "--json", "--skip-git-repo-check"]
        if self.model:
            argv += ["--model", self.model]
        if schema is not None:
            argv += ["--output-schema", schema.path]
        argv += list(self.extra_args)
        if session:
            argv += ["resume", session]
        return [*argv, "--", prompt]

    def read_line(self, line: dict[str, Any]) -> list[CliEvent]:
        kind = line.get("type")
        if kind == "thread.started" and line.get("thread_id"):
            return [CliEvent("session", str(line["thread_id"]))]
        item = _dict(line, "item")
        if kind in ("item.started", "item.completed") and item.get("type") in _CODEX_TOOLS:
            call_id, tool = str(item.get("id")), str(item.get("type"))
            if kind == "item.started":
                started = {k: v for k, v in item.items() if k in ("command", "query", "changes")}
                return [CliEvent("tool_start", json.dumps(started), call_id=call_id, tool=tool)]
            failed = item.get("status") == "failed" or item.get("exit_code") not in (0, None)
            output = str(item.get("aggregated_output") or item.get("status") or "")
            return [CliEvent("tool_end", output, call_id=call_id, tool=tool, ok=not failed)]
        if kind == "item.completed" and item.get("type") == "agent_message":
            text = str(item.get("text", ""))
            return [CliEvent("text", text), CliEvent("result", text)]
        if kind == "turn.completed":
            usage = _dict(line, "usage")
            cached = _int(usage, "cached_input_tokens")
            return [
                CliEvent(
                    "usage",
                    usage=Usage(
                        input_tokens=max(0, _int(usage, "input_tokens") - cached),
                        output_tokens=_int(usage, "output_tokens"),
                        cache_read_tokens=cached,
                    ),
                )
            ]
        if kind == "turn.failed":
            return [CliEvent("error", str(_dict(line, "error").get("message") or "turn failed"))]
        if kind == "error":
            return [CliEvent("error", str(line.get("message") or "error"))]
        return []


@dataclass(frozen=True, slots=True)
class GeminiCliAgent(CliAgent):
    """``gemini --prompt=PROMPT --output-format stream-json`` (the output schema goes in the
    prompt: the CLI has no flag for it; ``--resume SESSION`` to continue). The prompt is the
    option's attached value, the form in which yargs never reads a value beginning with ``-``
    as another option (``-p -x`` would give ``-p`` an empty prompt)."""

    executable: str = "gemini"
    name: str = "gemini-cli"
    key_env: tuple[str, ...] = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_CLOUD_PROJECT")

    @property
    def schema_in_prompt(self) -> bool:
        return True

    def cli_argv(self, prompt: str, schema: SchemaArgs | None, session: str | None) -> list[str]:
        argv = [self.executable, f"--prompt={prompt}", "--output-format", "stream-json"]
        if self.model:
            argv += ["--model", self.model]
        if session:
            argv += ["--resume", session]
        return [*argv, *self.extra_args]

    def read_line(self, line: dict[str, Any]) -> list[CliEvent]:
        kind = line.get("type")
        if kind == "init" and line.get("session_id"):
            return [CliEvent("session", str(line["session_id"]))]
        if kind == "message" and line.get("role") == "assistant":
            return [CliEvent("text", str(line.get("content", "")))]
        if kind == "tool_use":
            arguments = json.dumps(line.get("parameters") or {})
            call_id, tool = str(line.get("tool_id")), str(line.get("tool_name"))
            return [CliEvent("tool_start", arguments, call_id=call_id, tool=tool)]
        if kind == "tool_result":
            ok = line.get("status") == "success"
            output = str(line.get("output") or _dict(line, "error").get("message") or "")
            return [CliEvent("tool_end", output, call_id=str(line.get("tool_id")), ok=ok)]
        if kind == "result":
            stats = _dict(line, "stats")
            usage = Usage(
                input_tokens=max(0, _int(stats, "input_tokens") - _int(stats, "cached")),
                output_tokens=_int(stats, "output_tokens"),
                cache_read_tokens=_int(stats, "cached"),
            )
            if line.get("status") == "success":
                return [CliEvent("usage", usage=usage), CliEvent("result")]
            error = _dict(line, "error").get("message") or "the CLI reported an error"
            return [CliEvent("usage", usage=usage), CliEvent("error", str(error))]
        return []
