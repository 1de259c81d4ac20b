"""Render: call the build function and normalise its tree into a plan the engine walks.

The plan keeps the structure (sequence, parallel, branch, loop) and the mounted leaves
(tasks, approvals, signals, timers), each with its iteration, its loop and its nearest
Parallel group. Each plan node carries its frame props; a fingerprint of them tells whether
the tree changed, and only then is the canonical element tree built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from smithers.authoring.context import Context
from smithers.authoring.nodes import (
    Approval,
    Branch,
    Loop,
    Node,
    Parallel,
    Sequence,
    Signal,
    Task,
    Timer,
)
from smithers.authoring.workflow import Workflow
from smithers.errors import DuplicateId, InvalidWorkflow
from smithers.store.outputs import table_name_for

__all__ = ["Group", "Leaf", "LeafKind", "LoopPlan", "Plan", "Rendered", "render"]

LeafKind = Literal["task", "approval", "signal", "timer"]
Key = tuple[str, int]
Props = tuple[tuple[str, Any], ...]


@dataclass(slots=True, eq=False)
class Group:
    """A Parallel: its tasks share ``cap`` concurrent slots."""

    id: str
    cap: int | None


@dataclass(slots=True, eq=False)
class Leaf:
    """A mounted node that has state: one (node id, iteration)."""

    node: Task | Approval | Signal | Timer
    kind: LeafKind
    iteration: int
    loop_id: str | None
    group: Group | None
    ordinal: int
    id: str = ""
    key: Key = ("", 0)

    def __post_init__(self) -> None:
        self.id = self.node.id
        self.key = (self.node.id, self.iteration)

    @property
    def continue_on_fail(self) -> bool:
        """Whether a failure of this node lets the run go on."""
        return isinstance(self.node, Task) and self.node.continue_on_fail

    @property
    def label(self) -> str | None:
        """The human title, if any."""
        node = self.node
        return node.label if isinstance(node, Task | Approval) else None


@dataclass(slots=True, eq=False)
class LoopPlan:
    """A mounted loop at its current iteration."""

    id: str
    iteration: int
    done: bool
    until: bool
    max_iterations: int
    on_max_reached: str


@dataclass(slots=True, eq=False)
class Plan:
    """One node of the plan tree, with the tag and props its frame element gets."""

    kind: Literal["sequence", "parallel", "loop", "leaf"]
    tag: str
    props: Props
    children: list[Plan] = field(default_factory=list)
    leaf: Leaf | None = None
    loop: LoopPlan | None = None

    def element(self) -> dict[str, Any]:
        """The canonical frame element of this node and its children."""
        props = {k: v for k, v in sorted(self.props) if v is not None}
        return {
            "kind": "element",
            "tag": f"smithers:{self.tag}",
            "props": props,
            "children": [c.element() for c in self.children],
        }


@dataclass(slots=True)
class Rendered:
    """A render: the plan, its leaves in document order, its loops, and its fingerprint."""

    plan: Plan
    leaves: list[Leaf]
    loops: dict[str, LoopPlan]
    fingerprint: int
    by_id: dict[str, Leaf]

    def element(self) -> dict[str, Any]:
        """The canonical element tree of the frame."""
        return self.plan.element()


_table_names: dict[type[msgspec.Struct], str] = {}


def _table(output: type[msgspec.Struct] | None) -> str | None:
    if output is None:
        return None
    name = _table_names.get(output)
    if name is None:
        name = _table_names[output] = table_name_for(output)
    return name


class _Renderer:
    def __init__(self, ctx: Context, loops: dict[str, tuple[int, bool]]) -> None:
        self.ctx = ctx
        self.stored_loops = loops
        self.leaves: list[Leaf] = []
        self.loops: dict[str, LoopPlan] = {}
        self.by_id: dict[str, Leaf] = {}
        self.loop_ids: set[str] = set()
        self.prints: list[Any] = []
        self.groups = 0

    def walk(self, node: Node, iteration: int, loop_id: str | None, group: Group | None) -> Plan:
        if isinstance(node, Task | Approval | Signal | Timer):
            return self.walk_leaf(node, iteration, loop_id, group)
        if isinstance(node, Sequence):
            self.prints.append(("s", len(node.children)))
            children = [self.walk(c, iteration, loop_id, group) for c in node.children]
            return Plan("sequence", "sequence", (), children)
        if isinstance(node, Parallel):
            self.groups += 1
            inner = Group(f"parallel:{self.groups}", node.max_concurrency)
            self.prints.append(("p", node.max_concurrency, len(node.children)))
            children = [self.walk(c, iteration, loop_id, inner) for c in node.children]
            return Plan(
                "parallel", "parallel", (("maxConcurrency", node.max_concurrency),), children
            )
        if isinstance(node, Branch):
            chosen = node.chosen
            self.prints.append(("b", node.condition, chosen is not None))
            children = [] if chosen is None else [self.walk(chosen, iteration, loop_id, group)]
            return Plan("sequence", "branch", (("condition", node.condition),), children)
        if isinstance(node, Loop):
            return self.walk_loop(node, loop_id, group)
        raise InvalidWorkflow(f"the build function returned {node!r}, which is not a node")

    def walk_loop(self, node: Loop, loop_id: str | None, group: Group | None) -> Plan:
        if loop_id is not None:
            raise InvalidWorkflow(
                f"Loop {node.id!r} is inside Loop {loop_id!r}: nested loops are not supported"
            )
        if node.id in self.loop_ids or node.id in self.by_id:
            raise DuplicateId(f"duplicate node id {node.id!r} in one render")
        self.loop_ids.add(node.id)
        iteration, done = self.stored_loops.get(node.id, (0, False))
        body = node.body
        if not isinstance(body, Node):
            body = body(self.ctx.in_loop(node.id, iteration))
            if not isinstance(body, Node):
                raise InvalidWorkflow(f"Loop {node.id!r} body returned {body!r}, not a node")
        loop = LoopPlan(
            node.id, iteration, done, bool(node.until), node.max_iterations, node.on_max_reached
        )
        self.loops[node.id] = loop
        props: Props = (
            ("id", node.id),
            ("until", loop.until),
            ("maxIterations", node.max_iterations),
            ("onMaxReached", node.on_max_reached),
            ("iteration", iteration),
        )
        self.prints.append(props)
        inner = self.walk(body, iteration, node.id, group)
        return Plan("loop", "ralph", props, [inner], loop=loop)

    def walk_leaf(
        self,
        node: Task | Approval | Signal | Timer,
        iteration: int,
        loop_id: str | None,
        group: Group | None,
    ) -> Plan:
        if node.id in self.by_id or node.id in self.loop_ids:
            raise DuplicateId(f"duplicate node id {node.id!r} in one render")
        kind: LeafKind
        props: Props
        if isinstance(node, Task):
            kind, tag = "task", "task"
            props = (
                ("id", node.id),
                ("label", node.label),
                ("retries", node.retries),
                ("timeout", node.timeout),
                ("needsApproval", node.needs_approval or None),
                ("continueOnFail", node.continue_on_fail or None),
                ("skipIf", node.skip_if or None),
                ("dependsOn", ",".join(node.depends_on) or None),
                ("output", _table(node.output)),
                ("agent", _agent_labels(node.agent)),
            )
        elif isinstance(node, Approval):
            kind, tag = "approval", "approval"
            props = (
                ("id", node.id),
                ("title", node.title),
                ("label", node.label),
                ("onDeny", node.on_deny),
            )
        elif isinstance(node, Signal):
            kind, tag = "signal", "wait-for-event"
            props = (
                ("id", node.id),
                ("event", node.name),
                ("correlationId", node.correlation_id),
                ("timeout", node.timeout),
                ("onTimeout", node.on_timeout),
                ("output", _table(node.output)),
            )
        else:
            kind, tag = "timer", "timer"
            props = (("id", node.id), ("duration", node.duration), ("until", node.until_ms))
        if loop_id is not None:
            props = (*props, ("iteration", iteration))
        self.prints.append(props)
        leaf = Leaf(node, kind, iteration, loop_id, group, len(self.leaves))
        self.leaves.append(leaf)
        self.by_id[node.id] = leaf
        return Plan("leaf", tag, props, leaf=leaf)


def render(workflow: Workflow, ctx: Context, loops: dict[str, tuple[int, bool]]) -> Rendered:
    """Build the tree for the current state; raises what the build function raises."""
    root = workflow.build(ctx)
    if not isinstance(root, Node):
        raise InvalidWorkflow(f"workflow {workflow.name!r} returned {root!r}, not a node")
    renderer = _Renderer(ctx, loops)
    body = renderer.walk(root, 0, None, None)
    top = Plan("sequence", "workflow", (("name", workflow.name),), [body])
    fingerprint = hash((workflow.name, tuple(renderer.prints)))
    return Rendered(top, renderer.leaves, renderer.loops, fingerprint, renderer.by_id)


def _agent_labels(agent: Any) -> str | None:
    """How a frame shows a task's agent (or chain): ``name:model`` labels, never a secret."""
    if agent is None:
        return None
    chain = agent if isinstance(agent, tuple) else (agent,)
    return ",".join(str(getattr(a, "label", type(a).__name__)) for a in chain)
