"""The nodes a workflow's build function returns: immutable, validated on construction."""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal

import msgspec
from msgspec.structs import force_setattr

from smithers.authoring.durations import Duration, parse_deadline_ms, parse_duration, seconds

if TYPE_CHECKING:
    from smithers.agents.base import Agent

__all__ = [
    "UNSET",
    "Approval",
    "ApprovalDecision",
    "Branch",
    "Loop",
    "Node",
    "Parallel",
    "Sequence",
    "Signal",
    "Task",
    "Timer",
]


UNSET: Final = msgspec.UNSET
"""Marks an argument that was not given (``Task(value=None)`` is a real value)."""

MAX_BACKOFF_SECONDS = 300.0


class Node(abc.ABC):  # noqa: B024 - an ABC only so Struct nodes can register
    """Base of every node. Nodes are immutable once built.

    Leaf nodes and branches are frozen msgspec Structs (cheap to build on every render);
    ``Sequence`` and ``Parallel`` are plain classes registered as nodes too.
    """

    __slots__ = ()


def _check_id(node_id: object, kind: str) -> str:
    if type(node_id) is not str or not node_id.strip():
        raise ValueError(f"{kind} id must be a non-empty string, got {node_id!r}")
    if "::" in node_id:
        raise ValueError(f"{kind} id {node_id!r} must not contain '::'")
    return node_id


def _check_output_type(output: object, kind: str) -> type[msgspec.Struct] | None:
    if output is None:
        return None
    if isinstance(output, type) and issubclass(output, msgspec.Struct):
        return output
    raise TypeError(f"{kind} output must be a msgspec.Struct type, got {output!r}")


def _check_label(label: object) -> None:
    if label is not None and type(label) is not str:
        raise TypeError(f"label must be a string, got {label!r}")


def _duration(node: msgspec.Struct, field: str, what: str) -> None:
    value = getattr(node, field)
    if value is not None and type(value) is not float:
        force_setattr(node, field, parse_duration(value, what=what))


def flatten_children(children: Iterable[object], parent: str) -> tuple[Node, ...]:
    """Children as nodes: lists and tuples are flattened, ``None`` and ``False`` dropped."""
    out: list[Node] = []
    for child in children:
        if child is None or child is False:
            continue
        if isinstance(child, list | tuple):
            out.extend(flatten_children(child, parent))
        elif isinstance(child, Node):
            out.append(child)
        else:
            raise TypeError(f"{parent} children must be nodes, got {child!r}")
    return tuple(out)


def takes_argument(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` wants a context argument."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
    )


class _TaskId(msgspec.Struct, frozen=True):
    id: str
    fn: Callable[..., Any] | None = None


class Task(_TaskId, kw_only=True, frozen=True):
    """A unit of work: a function to call (sync or async), a static ``value``, or an
    ``agent`` (one, or a chain: attempt *n* uses item *n*, the last one repeats) given a
    ``prompt``."""

    value: Any = UNSET
    agent: Agent | tuple[Agent, ...] | list[Agent] | None = None
    prompt: Any = None
    """A string, or a ``smithers.agents.Prompt`` file read when the attempt runs."""
    output: type[msgspec.Struct] | None = None
    retries: int = 0
    backoff: Duration = 1.0
    timeout: Duration | None = None
    needs_approval: bool = False
    continue_on_fail: bool = False
    skip_if: bool = False
    depends_on: tuple[str, ...] = ()
    label: str | None = None
    max_parallel_tools: int = 8
    """Tool calls an attempt runs at once, however many a model asks for in one turn."""

    def __post_init__(self) -> None:
        _check_id(self.id, "Task")
        given = [self.fn is not None, self.value is not UNSET, self.agent is not None]
        if sum(given) != 1:
            raise ValueError(f"Task {self.id!r} needs exactly one of fn, value or agent")
        if self.agent is not None:
            _check_agent(self)
        elif self.prompt is not None:
            raise ValueError(f"Task {self.id!r} prompt is for agent tasks")
        if self.fn is not None and not callable(self.fn):
            raise TypeError(f"Task {self.id!r} fn must be callable, got {self.fn!r}")
        if type(self.retries) is not int or self.retries < 0:
            raise ValueError(f"Task {self.id!r} retries must be a non-negative integer")
        if type(self.max_parallel_tools) is not int or self.max_parallel_tools < 1:
            raise ValueError(f"Task {self.id!r} max_parallel_tools must be a positive integer")
        _check_output_type(self.output, f"Task {self.id!r}")
        _duration(self, "backoff", f"Task {self.id!r} backoff")
        _duration(self, "timeout", f"Task {self.id!r} timeout")
        timeout = seconds(self.timeout)
        if timeout is not None and timeout <= 0:
            raise ValueError(f"Task {self.id!r} timeout must be positive")
        deps: Any = self.depends_on
        if type(deps) is not tuple:
            deps = (deps,) if isinstance(deps, str) else tuple(deps)
            force_setattr(self, "depends_on", deps)
        for dep in deps:
            _check_id(dep, f"Task {self.id!r} depends_on")
        for flag in ("needs_approval", "continue_on_fail", "skip_if"):
            if type(getattr(self, flag)) is not bool:
                force_setattr(self, flag, bool(getattr(self, flag)))
        _check_label(self.label)

    def agent_for(self, attempt: int) -> Agent:
        """The agent of attempt ``attempt`` (1-based): item *n* of a chain, the last repeats."""
        agents = self.agent
        assert agents is not None and not isinstance(agents, list)  # a chain is a tuple once built
        chain = agents if isinstance(agents, tuple) else (agents,)
        return chain[min(attempt, len(chain)) - 1]

    def retry_delay(self, failed_attempt: int) -> float:
        """Seconds to wait before the attempt after ``failed_attempt`` (1-based)."""
        backoff = seconds(self.backoff) or 0.0
        if backoff <= 0:
            return 0.0
        delay: float = backoff * 2 ** (failed_attempt - 1)
        return min(delay, MAX_BACKOFF_SECONDS)


def _check_agent(task: Task) -> None:
    agents: Any = task.agent
    if isinstance(agents, list | tuple):
        agents = tuple(agents)
        if not agents:
            raise ValueError(f"Task {task.id!r} agent chain must not be empty")
        force_setattr(task, "agent", agents)
    for agent in agents if isinstance(agents, tuple) else (agents,):
        if not callable(getattr(agent, "run", None)):  # a smithers.agents.Agent
            raise TypeError(f"Task {task.id!r} agent must be an agent, got {agent!r}")
    if hasattr(task.prompt, "render"):
        return
    if not isinstance(task.prompt, str) or not task.prompt.strip():
        raise ValueError(f"Task {task.id!r} needs a prompt (a non-empty string) for its agent")


class Sequence(Node):
    """Children run in order."""

    __slots__ = ("children",)
    children: tuple[Node, ...]

    def __init__(self, *children: Node | Iterable[Node | None] | None) -> None:
        object.__setattr__(self, "children", flatten_children(children, "Sequence"))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Sequence is immutable")

    def __repr__(self) -> str:
        return f"Sequence({len(self.children)} children)"


class Parallel(Node):
    """Children may run at once, up to ``max_concurrency``."""

    __slots__ = ("children", "max_concurrency")
    children: tuple[Node, ...]
    max_concurrency: int | None

    def __init__(
        self, *children: Node | Iterable[Node | None] | None, max_concurrency: int | None = None
    ) -> None:
        if max_concurrency is not None and (
            type(max_concurrency) is not int or max_concurrency < 1
        ):
            raise ValueError("Parallel max_concurrency must be a positive integer")
        object.__setattr__(self, "children", flatten_children(children, "Parallel"))
        object.__setattr__(self, "max_concurrency", max_concurrency)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Parallel is immutable")

    def __repr__(self) -> str:
        return f"Parallel({len(self.children)} children, max_concurrency={self.max_concurrency})"


class Branch(msgspec.Struct, frozen=True):
    """Mounts ``then`` when ``condition`` is true, else ``else_`` (if any)."""

    condition: Any
    then: Node
    else_: Node | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.then, Node) or (
            self.else_ is not None and not isinstance(self.else_, Node)
        ):
            raise TypeError("Branch then/else_ must be nodes")
        force_setattr(self, "condition", bool(self.condition))

    @property
    def chosen(self) -> Node | None:
        """The mounted side."""
        return self.then if self.condition else self.else_


class _LoopId(msgspec.Struct, frozen=True):
    id: str
    body: Any


class Loop(_LoopId, kw_only=True, frozen=True):
    """Runs ``body`` for iteration 0, 1, … until ``until`` is true when an iteration completes.

    ``body`` is a node or a callable ``ctx -> node`` (its ``ctx.iteration`` is the loop's).
    """

    until: Any
    max_iterations: int = 5
    on_max_reached: Literal["return-last", "fail"] = "return-last"

    def __post_init__(self) -> None:
        _check_id(self.id, "Loop")
        if not isinstance(self.body, Node) and not callable(self.body):
            raise TypeError(f"Loop {self.id!r} body must be a node or a callable ctx -> node")
        if type(self.max_iterations) is not int:
            raise TypeError(f"Loop {self.id!r} max_iterations must be an integer")
        if self.max_iterations < 1:
            raise ValueError(f"Loop {self.id!r} max_iterations must be at least 1")
        if self.on_max_reached not in ("return-last", "fail"):
            raise ValueError(f"Loop {self.id!r} on_max_reached must be 'return-last' or 'fail'")
        force_setattr(self, "until", bool(self.until))


class _NodeId(msgspec.Struct, frozen=True):
    id: str


class Approval(_NodeId, kw_only=True, frozen=True):
    """Suspends the run until a human approves or denies; the output is an ApprovalDecision."""

    title: str | None = None
    summary: str | None = None
    on_deny: Literal["continue", "fail"] = "continue"
    label: str | None = None

    def __post_init__(self) -> None:
        _check_id(self.id, "Approval")
        if self.on_deny not in ("continue", "fail"):
            raise ValueError(f"Approval {self.id!r} on_deny must be 'continue' or 'fail'")
        for name in ("title", "summary"):
            text = getattr(self, name)
            if text is not None and type(text) is not str:
                raise TypeError(f"Approval {self.id!r} {name} must be a string")
        _check_label(self.label)


class Signal(_NodeId, kw_only=True, frozen=True):
    """Waits for ``POST /v1/runs/{runId}/signals/{name}``; the signal's data is the output."""

    name: str | None = None
    output: type[msgspec.Struct] | None = None
    correlation_id: str | None = None
    timeout: Duration | None = None
    on_timeout: Literal["fail", "skip", "continue"] = "fail"

    def __post_init__(self) -> None:
        _check_id(self.id, "Signal")
        name = self.id if self.name is None else self.name
        if type(name) is not str or not name.strip():
            raise ValueError(f"Signal {self.id!r} name must be a non-empty string")
        force_setattr(self, "name", name.strip())
        if self.correlation_id is not None and type(self.correlation_id) is not str:
            raise TypeError(f"Signal {self.id!r} correlation_id must be a string")
        if self.correlation_id == "":
            force_setattr(self, "correlation_id", None)
        if self.on_timeout not in ("fail", "skip", "continue"):
            raise ValueError(f"Signal {self.id!r} on_timeout must be 'fail', 'skip' or 'continue'")
        _check_output_type(self.output, f"Signal {self.id!r}")
        _duration(self, "timeout", f"Signal {self.id!r} timeout")


class Timer(_NodeId, kw_only=True, frozen=True):
    """Finishes when due; the run suspends as ``waiting-timer`` meanwhile."""

    duration: Duration | None = None
    until: datetime | str | None = None

    def __post_init__(self) -> None:
        _check_id(self.id, "Timer")
        if (self.duration is None) == (self.until is None):
            raise ValueError(f"Timer {self.id!r} needs exactly one of duration or until")
        _duration(self, "duration", f"Timer {self.id!r} duration")
        if self.until is not None:
            parse_deadline_ms(self.until)  # reject a bad deadline now, not when the timer starts

    @property
    def until_ms(self) -> int | None:
        """The deadline as epoch milliseconds, when given with ``until``."""
        return None if self.until is None else parse_deadline_ms(self.until)


for _struct_node in (Task, Branch, Loop, Approval, Signal, Timer):
    Node.register(_struct_node)


class ApprovalDecision(msgspec.Struct, frozen=True):
    """The output of an ``Approval`` node."""

    approved: bool
    note: str | None
    decided_by: str | None
    decided_at_ms: int
