"""What the coding-CLI agents share: their fields, their environment, and the attempt (a
subprocess in the run's root, run by ``smithers.agents.cli_runner``).

Each CLI has its module — ``claude_code``, ``codex``, ``gemini_cli`` — saying how to call it
(``cli_argv``) and how to read one line of its JSON-lines output (``read_line``, with a
msgspec decoder of that CLI's lines). The CLI runs its own tools (not the run's ``Toolbox``);
the calls it reports go to the attempt's tool-call log and events all the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, TypeVar

import msgspec

from smithers.agents import cli_events as events
from smithers.agents.base import Answer
from smithers.agents.cli_runner import run_cli_agent

if TYPE_CHECKING:
    from smithers.authoring.context import TaskContext

__all__ = ["BASE_ENV", "CliAgent", "decode_line"]

L = TypeVar("L")

BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "TZ", "TMPDIR", "XDG_CONFIG_HOME")
"""Variables every CLI gets from the server's environment; the agent adds its own keys."""


def decode_line(decoder: msgspec.json.Decoder[L], line: bytes) -> L | None:
    """One output line as a CLI's line type; ``None`` for a line that is not one of those
    (a banner, a log line, a kind of line the agent does not read)."""
    try:
        return decoder.decode(line)
    except msgspec.DecodeError:
        return None


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

    schema_in_prompt: ClassVar[bool] = False
    """Whether the output schema goes in the prompt (the CLI has no flag for it)."""

    @property
    def label(self) -> str:
        """``name:model``, as frames and events show the agent."""
        return f"{self.name}:{self.model or 'default'}"

    @property
    def env_names(self) -> tuple[str, ...]:
        """Every variable the CLI may see."""
        return (*BASE_ENV, *self.key_env, *self.env)

    def cli_argv(
        self, prompt: str, schema: events.SchemaArgs | None, session: str | None
    ) -> list[str]:
        """The command line of one call."""
        raise NotImplementedError

    def read_line(self, line: bytes) -> list[events.Event]:
        """The events of one line of output (none for a line that is not the CLI's JSON)."""
        raise NotImplementedError

    async def run(
        self, ctx: TaskContext, prompt: str, output: type[msgspec.Struct] | None
    ) -> Answer:
        """The attempt: the CLI until it answers."""
        return await run_cli_agent(self, ctx, prompt, output)
