"""What build functions (``Context``) and task functions (``TaskContext``) receive."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import msgspec

from smithers.errors import MissingOutput

if TYPE_CHECKING:
    from smithers.tools.toolbox import Toolbox

__all__ = ["READ_ALL", "Context", "RunOutputs", "TaskContext"]

MAX_HEARTBEAT_BYTES = 1_000_000


class RunOutputs:
    """The decoded outputs of one run, plus which loop each node belongs to.

    Filled and kept current by the engine; read by ``Context`` and ``TaskContext``.
    """

    __slots__ = ("changed", "loop_iterations", "node_loops", "values")

    def __init__(self) -> None:
        self.values: dict[str, dict[int, Any]] = {}
        self.node_loops: dict[str, str] = {}
        self.loop_iterations: dict[str, int] = {}
        self.changed: set[str] = set()
        """Node ids whose outputs changed since the engine last looked."""

    def put(self, node_id: str, iteration: int, value: Any) -> None:
        """Record a node's output."""
        self.values.setdefault(node_id, {})[iteration] = value
        self.changed.add(node_id)

    def has(self, node_id: str, iteration: int) -> bool:
        """Whether the node has an output for that iteration."""
        return iteration in self.values.get(node_id, ())

    def default_iteration(self, node_id: str, loop_id: str | None, iteration: int) -> int:
        """The iteration ``output(node_id)`` means when none is given."""
        node_loop = self.node_loops.get(node_id)
        if node_loop is None:
            return 0
        if node_loop == loop_id:
            return iteration
        return self.loop_iterations.get(node_loop, 0)


READ_ALL = "*"
"""Recorded when a reader saw every output (``ctx.outputs``)."""


class _OutputReader:
    __slots__ = ("_iteration", "_loop_id", "_outputs", "_reads")

    def __init__(
        self,
        outputs: RunOutputs,
        loop_id: str | None,
        iteration: int,
        reads: set[str] | None = None,
    ) -> None:
        self._outputs = outputs
        self._loop_id = loop_id
        self._iteration = iteration
        self._reads = reads

    def output(self, node_id: str, iteration: int | None = None) -> Any:
        """The decoded output of a finished node; raises ``MissingOutput`` if absent."""
        if self._reads is not None:
            self._reads.add(node_id)
        if iteration is None:
            iteration = self._outputs.default_iteration(node_id, self._loop_id, self._iteration)
        by_iteration = self._outputs.values.get(node_id, {})
        if iteration not in by_iteration:
            raise MissingOutput(f"no output for node {node_id!r} (iteration {iteration})")
        return by_iteration[iteration]

    def output_maybe(self, node_id: str, iteration: int | None = None) -> Any:
        """The decoded output of a node, or ``None``."""
        try:
            return self.output(node_id, iteration)
        except MissingOutput:
            return None

    def latest(self, node_id: str) -> Any:
        """The output of the highest iteration that has one, or ``None``."""
        if self._reads is not None:
            self._reads.add(node_id)
        by_iteration = self._outputs.values.get(node_id)
        if not by_iteration:
            return None
        return by_iteration[max(by_iteration)]

    @property
    def outputs(self) -> Mapping[str, Mapping[int, Any]]:
        """Read-only ``node_id -> {iteration: output}``."""
        if self._reads is not None:
            self._reads.add(READ_ALL)
        return MappingProxyType(
            {k: MappingProxyType(dict(v)) for k, v in self._outputs.values.items()}
        )


class Context(_OutputReader):
    """The build function's argument: the run's identity, input and outputs so far."""

    __slots__ = ("input", "iteration", "run_id")

    def __init__(
        self,
        run_id: str,
        input: Any,
        outputs: RunOutputs,
        *,
        iteration: int = 0,
        loop_id: str | None = None,
        reads: set[str] | None = None,
    ) -> None:
        super().__init__(outputs, loop_id, iteration, reads)
        self.run_id = run_id
        self.input = input
        self.iteration = iteration

    def in_loop(self, loop_id: str, iteration: int) -> Context:
        """The context a loop body is built with."""
        return Context(
            self.run_id,
            self.input,
            self._outputs,
            iteration=iteration,
            loop_id=loop_id,
            reads=self._reads,
        )


class TaskContext(_OutputReader):
    """What a task function receives: the identity of its attempt and ways to report progress."""

    __slots__ = (
        "_on_heartbeat",
        "_on_log",
        "_on_usage",
        "agent_memory",
        "attempt",
        "cancelled",
        "input",
        "iteration",
        "last_heartbeat",
        "node_id",
        "root_dir",
        "run_id",
        "tools",
        "workflow_dir",
    )

    def __init__(
        self,
        *,
        run_id: str,
        node_id: str,
        iteration: int,
        attempt: int,
        input: Any,
        outputs: RunOutputs,
        loop_id: str | None,
        last_heartbeat: Any,
        root_dir: Path,
        cancelled: asyncio.Event,
        on_heartbeat: Callable[[Any, int], None],
        on_log: Callable[[str, str], None],
        tools: Toolbox,
        on_usage: Callable[[str, str, dict[str, int]], None] | None = None,
        agent_memory: Any = None,
        workflow_dir: Path | None = None,
    ) -> None:
        super().__init__(outputs, loop_id, iteration)
        self.run_id = run_id
        self.node_id = node_id
        self.iteration = iteration
        self.attempt = attempt
        self.input = input
        self.last_heartbeat = last_heartbeat
        self.root_dir = root_dir
        self.workflow_dir = workflow_dir or root_dir
        """The workflow file's folder (where ``Prompt`` files are read from)."""
        self.cancelled = cancelled
        self._on_heartbeat = on_heartbeat
        self._on_log = on_log
        self._on_usage = on_usage
        self.agent_memory = agent_memory
        """Where an agent task's conversation is kept (set by the engine; ``None`` elsewhere)."""
        self.tools = tools
        """The built-in tools on the run's root: ``await t.tools.bash("pytest -q")``."""

    def is_cancelled(self) -> bool:
        """Whether the run was cancelled or the attempt timed out (safe from any thread)."""
        return self.cancelled.is_set()

    def heartbeat(self, data: Any = None) -> None:
        """Record liveness and an optional JSON checkpoint the next attempt receives."""
        try:
            size = len(msgspec.json.encode(data)) if data is not None else 0
        except (TypeError, msgspec.EncodeError) as exc:
            raise TypeError(f"heartbeat data must be JSON-serializable: {exc}") from exc
        if size > MAX_HEARTBEAT_BYTES:
            raise ValueError(f"heartbeat data is {size} bytes; the limit is {MAX_HEARTBEAT_BYTES}")
        self._on_heartbeat(data, size)

    def log(self, text: str) -> None:
        """Emit a ``NodeOutput`` event shown in event streams."""
        self._on_log(str(text), "stdout")

    def agent_output(self, text: str) -> None:
        """Emit streamed model text (a ``NodeOutput`` with ``stream: "agent"``)."""
        self._on_log(text, "agent")

    def report_usage(self, agent: str, model: str, usage: dict[str, int]) -> None:
        """Record the tokens of one model call (a ``TokenUsageReported`` and the metrics)."""
        if self._on_usage is not None:
            self._on_usage(agent, model, usage)
