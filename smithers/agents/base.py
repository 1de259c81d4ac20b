"""What every agent is to the engine, and what every agent does in an attempt.

The engine knows one thing of an agent task's agent: ``Agent.run`` (and its ``label`` for the
frame). The model agents (``ModelAgent``: OpenAI, Anthropic) run the tool loop of
``smithers.agents.loop``; the coding CLIs (``CliAgent``) run a subprocess
(``smithers.agents.cli_runner``). Both stream text through a ``TextBatcher`` and check a
final answer with ``decode_answer``, which says how to ask again when it does not fit.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias, TypeVar, runtime_checkable

import msgspec

from smithers.errors import InvalidOutput

if TYPE_CHECKING:
    from smithers.authoring.context import TaskContext

__all__ = [
    "BATCH_BYTES",
    "BATCH_SECONDS",
    "Agent",
    "Answer",
    "Misfit",
    "TextBatcher",
    "decode_answer",
]

S = TypeVar("S", bound=msgspec.Struct)

Answer: TypeAlias = msgspec.Struct | dict[str, str]
"""An agent's output: its answer decoded as the task's ``output`` type, else ``{"text": ...}``."""


@runtime_checkable
class Agent(Protocol):
    """An agent task's agent, as the engine runs it: one ``run`` per attempt."""

    @property
    def name(self) -> str:
        """The ``agent`` label of metrics and events."""
        ...

    @property
    def label(self) -> str:
        """``name:model``, as frames show the agent (never a secret)."""
        ...

    async def run(
        self, ctx: TaskContext, prompt: str, output: type[msgspec.Struct] | None
    ) -> Answer:
        """Work on ``prompt`` until there is an answer (decoded as ``output`` when given),
        continuing what the attempts it inherits from committed (``ctx.agent_memory``)."""
        ...


BATCH_BYTES = 4096
BATCH_SECONDS = 0.1


class TextBatcher:
    """Streamed text, handed on in batches of at most ``BATCH_SECONDS`` or ``BATCH_BYTES``."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit
        self._parts: list[str] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None

    def add(self, text: str) -> None:
        """One delta."""
        self._parts.append(text)
        self._size += len(text.encode())
        if self._size >= BATCH_BYTES:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(BATCH_SECONDS, self.flush)

    def flush(self) -> None:
        """Hand on what is pending now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._parts:
            text, self._parts, self._size = "".join(self._parts), [], 0
            self.emit(text)


@dataclass(frozen=True, slots=True)
class Misfit:
    """A final answer that does not fit the output type, and why."""

    output: type[msgspec.Struct]
    reason: str
    """msgspec's message."""

    @property
    def correction(self) -> str:
        """What the agent is told to have it answer again."""
        return (
            f"Your answer is not valid: {self.reason}. Answer again with only a JSON object "
            "that matches the schema you were given."
        )

    def failure(self) -> InvalidOutput:
        """The attempt's error once no correction is left."""
        return InvalidOutput(
            f"the agent's answer does not fit {self.output.__name__}: {self.reason}"
        )


_FENCED = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.S)


def decode_answer(text: str, output: type[S]) -> S | Misfit:
    """``text`` decoded as ``output`` (a fenced code block around the JSON is tolerated)."""
    stripped = text.strip()
    fenced = _FENCED.match(stripped)
    try:
        return msgspec.json.decode(fenced.group(1) if fenced else stripped, type=output)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return Misfit(output, str(exc))
