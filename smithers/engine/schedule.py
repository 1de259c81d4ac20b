"""Pure tree walk: node states + caps → the tasks to start now, and what blocks the rest.

Sequence stops at its first non-terminal child; Parallel walks every child; a Loop that is
not done blocks its later siblings. ``depends_on`` ids must be mounted and finished (or
skipped, or failed with ``continue_on_fail``). Parallel caps count the group's running tasks;
the run's ``max_concurrency`` counts all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from smithers.authoring.nodes import Task
from smithers.engine.states import TERMINAL_OK, Verdict
from smithers.engine.tree import Leaf, LoopPlan, Plan, Rendered
from smithers.statuses import NodeState

__all__ = ["Schedule", "plan_schedule"]

Key = tuple[str, int]


@dataclass(slots=True)
class Schedule:
    """The outcome of one walk."""

    visited: list[tuple[Leaf, Verdict]] = field(default_factory=list)
    """Every leaf the walk reached, in document order, with its verdict."""
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
    ) -> None:
        self.verdict_of = verdict_of
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

    def walk(self, plan: Plan) -> bool:
        kind = plan.kind
        if kind == "leaf":
            assert plan.leaf is not None
            return self.visit(plan.leaf)
        if kind == "sequence":
            for child in plan.children:
                if not self.walk(child):
                    return False
            return True
        if kind == "parallel":
            terminal = True
            for child in plan.children:
                if not self.walk(child):
                    terminal = False
            return terminal
        assert plan.loop is not None
        if plan.loop.done:
            return True
        for child in plan.children:
            if not self.walk(child):
                return False
        self.out.ready_loops.append(plan.loop)
        return False

    def visit(self, leaf: Leaf) -> bool:
        verdict = self.verdict(leaf)
        state = verdict.state
        out = self.out
        out.visited.append((leaf, verdict))
        if state is NodeState.FINISHED:
            return True
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
                self.admit(leaf)
        return is_terminal(leaf, state)

    def admit(self, leaf: Leaf) -> None:
        node = leaf.node
        if isinstance(node, Task):
            for dep in node.depends_on:
                target = self.by_id.get(dep)
                if target is None:
                    self.out.blocked.append((leaf, f"depends on {dep!r}, which is not mounted"))
                    return
                dep_state = self.state(target)
                if is_terminal(target, dep_state):
                    continue
                if dep_state is NodeState.FAILED:
                    self.out.blocked.append((leaf, f"depends on {dep!r}, which failed"))
                    return
                if dep == leaf.id:
                    self.out.blocked.append((leaf, "depends on itself"))
                    return
                return  # the dependency is still on its way
        group = leaf.group
        if (
            group is not None
            and group.cap is not None
            and self.group_load.get(id(group), 0) >= group.cap
        ):
            return
        if self.slots <= 0:
            return
        self.slots -= 1
        if group is not None:
            self.group_load[id(group)] = self.group_load.get(id(group), 0) + 1
        self.out.runnable.append(leaf)


def plan_schedule(
    rendered: Rendered,
    verdict_of: Callable[[Leaf], Verdict],
    running: Collection[Key],
    max_concurrency: int,
) -> Schedule:
    """Walk the plan: the leaves it reaches, tasks to start now (in document order), blockers.

    ``verdict_of`` is asked only for leaves the walk reaches (and their dependencies);
    ``running`` holds the keys of the run's attempts executing now.
    """
    walk = _Walk(rendered, verdict_of, running, max_concurrency)
    walk.walk(rendered.plan)
    return walk.out
