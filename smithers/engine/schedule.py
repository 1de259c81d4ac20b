"""Tree walk: node states + caps → the tasks to start now, and what blocks the rest.

Sequence stops at its first non-terminal child; Parallel walks every child; a Loop that is
not done blocks its later siblings. ``depends_on`` ids must be mounted and finished (or
skipped, or failed with ``continue_on_fail``). Parallel caps count the group's running tasks;
the run's ``max_concurrency`` counts all of them.

A walk costs what changed, not what exists: ``Progress`` remembers, for one render, what
earlier walks learned from *stable* verdicts (``Verdict.stable``: true until the run loop
itself acts on the node). A Sequence starts after its settled prefix; a Parallel skips its
settled children and looks at its idle pending tasks only while a slot is free to start one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from smithers.authoring.nodes import Task
from smithers.engine.states import TERMINAL_OK, Verdict
from smithers.engine.tree import Group, Leaf, LoopPlan, Plan, Rendered
from smithers.statuses import NodeState

__all__ = ["Progress", "Schedule", "plan_schedule"]

Key = tuple[str, int]

# What walking a plan node found (a terminal node lets a Sequence go on).
_OPEN = 0
"""Not terminal."""
_IDLE = 1
"""A pending task that stays pending until the walk starts it (not terminal)."""
_DONE = 2
"""Terminal, but may still change (an action or a state write is due, or not stable)."""
_SETTLED = 3
"""Terminal for good, with nothing left to write: later walks of the render skip it."""


@dataclass(slots=True)
class Schedule:
    """The outcome of one walk."""

    visited: list[tuple[Leaf, Verdict]] = field(default_factory=list)
    """Every leaf the walk reached, in document order, with its verdict (settled leaves that
    an earlier walk of the same render reached are not reached again)."""
    runnable: list[Leaf] = field(default_factory=list)
    ready_loops: list[LoopPlan] = field(default_factory=list)
    waiting_approval: list[Leaf] = field(default_factory=list)
    waiting_event: list[Leaf] = field(default_factory=list)
    waiting_timer: list[Leaf] = field(default_factory=list)
    retry_waiting: list[Leaf] = field(default_factory=list)
    failed: list[Leaf] = field(default_factory=list)
    blocked: list[tuple[Leaf, str]] = field(default_factory=list)
    """Pending tasks that can never start, with the reason."""
    wake_at_ms: int | None = None
    """Earliest time a waiting node must be looked at again (timer, timeout, retry)."""

    def note_wake(self, at: int | None) -> None:
        """Keep the earliest wake-up time."""
        if at is not None and (self.wake_at_ms is None or at < self.wake_at_ms):
            self.wake_at_ms = at


class Progress:
    """What earlier walks of one render learned (see the module docstring)."""

    __slots__ = ("fanouts", "prefixes", "rendered")

    def __init__(self, rendered: Rendered | None = None) -> None:
        self.rendered = rendered
        self.prefixes: dict[int, int] = {}
        """Sequence plan id → how many leading children are settled."""
        self.fanouts: dict[int, tuple[list[int], list[int]]] = {}
        """Parallel plan id → (children to walk, idle pending tasks), child indices in order."""

    def of(self, rendered: Rendered) -> Progress:
        """This progress if it belongs to ``rendered``, else a fresh one for it."""
        return self if rendered is self.rendered else Progress(rendered)


def is_terminal(leaf: Leaf, state: NodeState) -> bool:
    """Whether a node in ``state`` lets the walk go past it."""
    return state in TERMINAL_OK or (state is NodeState.FAILED and leaf.continue_on_fail)


class _Walk:
    def __init__(
        self,
        rendered: Rendered,
        verdict_of: Callable[[Leaf], Verdict],
        running: Collection[Key],
        max_concurrency: int,
        progress: Progress,
    ) -> None:
        self.verdict_of = verdict_of
        self.progress = progress
        self.verdicts: dict[Key, Verdict] = {}
        self.by_id = rendered.by_id
        self.out = Schedule()
        self.slots = max(0, max_concurrency - len(running))
        self.group_load: dict[int, int] = {}
        for node_id, iteration in running:
            leaf = self.by_id.get(node_id)
            if leaf is not None and leaf.iteration == iteration and leaf.group is not None:
                self.group_load[id(leaf.group)] = self.group_load.get(id(leaf.group), 0) + 1

    def verdict(self, leaf: Leaf) -> Verdict:
        found = self.verdicts.get(leaf.key)
        if found is None:
            found = self.verdicts[leaf.key] = self.verdict_of(leaf)
        return found

    def state(self, leaf: Leaf) -> NodeState:
        return self.verdict(leaf).state

    def walk(self, plan: Plan) -> int:
        kind = plan.kind
        if kind == "leaf":
            assert plan.leaf is not None
            return self.visit(plan.leaf)
        if kind == "sequence":
            return self.walk_sequence(plan)
        if kind == "parallel":
            return self.walk_parallel(plan)
        assert plan.loop is not None
        if plan.loop.done:
            return _SETTLED
        for child in plan.children:
            if self.walk(child) < _DONE:
                return _OPEN
        self.out.ready_loops.append(plan.loop)
        return _OPEN

    def walk_sequence(self, plan: Plan) -> int:
        children = plan.children
        start = self.progress.prefixes.get(id(plan), 0)
        settled = start
        found = _SETTLED
        for index in range(start, len(children)):
            result = self.walk(children[index])
            if result < _DONE:
                found = _OPEN
                break
            if result == _SETTLED and settled == index:
                settled = index + 1
            else:
                found = _DONE
        if settled != start:
            self.progress.prefixes[id(plan)] = settled
        return found

    def walk_parallel(self, plan: Plan) -> int:
        children = plan.children
        known = self.progress.fanouts.get(id(plan))
        walking, idle = known if known is not None else (list(range(len(children))), [])
        group = children[idle[0]].leaf.group if idle else None  # type: ignore[union-attr]
        still_walking: list[int] = []
        still_idle: list[int] = []
        found = _SETTLED
        w = i = 0
        while True:
            # Idle tasks are looked at (in document order) only while one could start.
            if i < len(idle) and (w == len(walking) or idle[i] < walking[w]) and self.free(group):
                index = idle[i]
                i += 1
            elif w < len(walking):
                index = walking[w]
                w += 1
            else:
                break
            result = self.walk(children[index])
            if result == _SETTLED:
                continue
            (still_idle if result == _IDLE else still_walking).append(index)
            if result < _DONE:
                found = _OPEN
            elif found == _SETTLED:
                found = _DONE
        rest = idle[i:]
        if rest:
            found = _OPEN
            if still_idle and still_idle[-1] > rest[0]:
                still_idle = sorted(still_idle + rest)
            else:
                still_idle += rest
        self.progress.fanouts[id(plan)] = (still_walking, still_idle)
        return found

    def free(self, group: Group | None) -> bool:
        """Whether a task of ``group`` could start now."""
        if self.slots <= 0:
            return False
        return group is None or group.cap is None or self.group_load.get(id(group), 0) < group.cap

    def visit(self, leaf: Leaf) -> int:
        verdict = self.verdict(leaf)
        state = verdict.state
        out = self.out
        out.visited.append((leaf, verdict))
        if state is NodeState.FINISHED:
            return _SETTLED if verdict.stable else _DONE
        out.note_wake(verdict.wake_at_ms)
        if state is NodeState.WAITING_APPROVAL:
            out.waiting_approval.append(leaf)
        elif state is NodeState.WAITING_EVENT:
            out.waiting_event.append(leaf)
        elif state is NodeState.WAITING_TIMER:
            out.waiting_timer.append(leaf)
        elif state is NodeState.FAILED and not leaf.continue_on_fail:
            out.failed.append(leaf)
        elif state is NodeState.PENDING:
            if verdict.retry_wait:
                out.retry_waiting.append(leaf)
            elif verdict.runnable:
                if self.admit(leaf):
                    return _OPEN
                return _IDLE if verdict.stable and leaf.group is not None else _OPEN
        if is_terminal(leaf, state):
            return _SETTLED if verdict.stable else _DONE
        return _OPEN

    def admit(self, leaf: Leaf) -> bool:
        """Start ``leaf`` now if its dependencies and the caps allow (True if so)."""
        node = leaf.node
        if isinstance(node, Task):
            for dep in node.depends_on:
                target = self.by_id.get(dep)
                if target is None:
                    self.out.blocked.append((leaf, f"depends on {dep!r}, which is not mounted"))
                    return False
                dep_state = self.state(target)
                if is_terminal(target, dep_state):
                    continue
                if dep_state is NodeState.FAILED:
                    self.out.blocked.append((leaf, f"depends on {dep!r}, which failed"))
                    return False
                if dep == leaf.id:
                    self.out.blocked.append((leaf, "depends on itself"))
                    return False
                return False  # the dependency is still on its way
        group = leaf.group
        if (
            group is not None
            and group.cap is not None
            and self.group_load.get(id(group), 0) >= group.cap
        ):
            return False
        if self.slots <= 0:
            return False
        self.slots -= 1
        if group is not None:
            self.group_load[id(group)] = self.group_load.get(id(group), 0) + 1
        self.out.runnable.append(leaf)
        return True


def plan_schedule(
    rendered: Rendered,
    verdict_of: Callable[[Leaf], Verdict],
    running: Collection[Key],
    max_concurrency: int,
    progress: Progress | None = None,
) -> Schedule:
    """Walk the plan: the leaves it reaches, tasks to start now (in document order), blockers.

    ``verdict_of`` is asked only for leaves the walk reaches (and their dependencies);
    ``running`` holds the keys of the run's attempts executing now. ``progress`` (of this
    render, ``Progress.of``) carries what earlier walks learned and is updated.
    """
    if progress is None or progress.rendered is not rendered:
        progress = Progress(rendered)
    walk = _Walk(rendered, verdict_of, running, max_concurrency, progress)
    walk.walk(rendered.plan)
    return walk.out
