"""The pure scheduling walk over rendered trees."""

from __future__ import annotations

from smithers import Context, Loop, Parallel, Sequence, Task, Workflow
from smithers.authoring.context import RunOutputs
from smithers.engine.schedule import Progress, plan_schedule
from smithers.engine.states import Verdict
from smithers.engine.tree import Leaf, render
from smithers.statuses import NodeState


def rendered(node, loops=None):  # type: ignore[no-untyped-def]
    wf = Workflow("t", lambda ctx: node)
    return render(wf, Context("r", {}, RunOutputs()), loops or {})


def walk(tree, states, running=(), cap=10):  # type: ignore[no-untyped-def]
    def verdict_of(leaf: Leaf) -> Verdict:
        return Verdict(states.get(leaf.id, NodeState.PENDING))

    return plan_schedule(tree, verdict_of, running, cap)


def ids(leaves) -> list[str]:  # type: ignore[no-untyped-def]
    return [leaf.id for leaf in leaves]


def test_sequence_stops_at_first_non_terminal() -> None:
    tree = rendered(Sequence(Task("a", value=1), Task("b", value=1), Task("c", value=1)))
    s = walk(tree, {"a": NodeState.FINISHED})
    assert ids(s.runnable) == ["b"] and ids(l for l, _ in s.visited) == ["a", "b"]
    s = walk(tree, {"a": NodeState.FAILED})
    assert ids(s.failed) == ["a"] and s.runnable == []


def test_parallel_cap_and_run_cap() -> None:
    tree = rendered(Parallel(*[Task(f"t{i}", value=1) for i in range(5)], max_concurrency=2))
    assert ids(walk(tree, {}).runnable) == ["t0", "t1"]
    s = walk(tree, {"t0": NodeState.IN_PROGRESS}, running=[("t0", 0)])
    assert ids(s.runnable) == ["t1"]
    assert ids(walk(tree, {}, cap=1).runnable) == ["t0"]


def test_depends_on() -> None:
    tree = rendered(Parallel(Task("b", value=1, depends_on="a"), Task("a", value=1)))
    assert ids(walk(tree, {}).runnable) == ["a"]
    assert ids(walk(tree, {"a": NodeState.SKIPPED}).runnable) == ["b"]
    blocked = walk(tree, {"a": NodeState.FAILED}).blocked
    assert [(leaf.id, why) for leaf, why in blocked] == [("b", "depends on 'a', which failed")]


def test_loop_blocks_later_siblings_until_done() -> None:
    body = Sequence(Task("x", value=1))
    tree = rendered(Sequence(Loop("l", body, until=False), Task("after", value=1)))
    s = walk(tree, {"x": NodeState.FINISHED})
    assert [loop.id for loop in s.ready_loops] == ["l"] and s.runnable == []
    done = rendered(
        Sequence(Loop("l", body, until=False), Task("after", value=1)), {"l": (0, True)}
    )
    assert ids(walk(done, {"x": NodeState.FINISHED}).runnable) == ["after"]


# --- what a walk remembers of earlier walks of the same render (Progress) ---------------


class Memo:
    """Stable verdicts from a state table, and which leaves the walk asked about."""

    def __init__(self, states: dict[str, NodeState]) -> None:
        self.states = states
        self.asked: list[str] = []

    def __call__(self, leaf: Leaf) -> Verdict:
        self.asked.append(leaf.id)
        return Verdict(self.states.get(leaf.id, NodeState.PENDING), stable=True)


def test_a_sequence_starts_after_its_settled_prefix() -> None:
    tree = rendered(Sequence(*[Task(f"t{i}", value=1) for i in range(6)]))
    progress = Progress(tree)
    memo = Memo({"t0": NodeState.FINISHED, "t1": NodeState.SKIPPED})
    s = plan_schedule(tree, memo, (), 4, progress)
    assert ids(s.runnable) == ["t2"] and memo.asked == ["t0", "t1", "t2"]
    memo.states.update(t2=NodeState.FINISHED, t3=NodeState.FINISHED)
    memo.asked.clear()
    s = plan_schedule(tree, memo, (), 4, progress)
    assert ids(s.runnable) == ["t4"] and memo.asked == ["t2", "t3", "t4"]
    assert ids(leaf for leaf, _ in s.visited) == ["t2", "t3", "t4"]


def test_only_stable_verdicts_are_remembered() -> None:
    tree = rendered(Sequence(Task("a", value=1), Task("b", value=1)))
    progress = Progress(tree)
    asked: list[str] = []

    def unstable(leaf: Leaf) -> Verdict:
        asked.append(leaf.id)
        return Verdict(NodeState.FINISHED if leaf.id == "a" else NodeState.PENDING)

    plan_schedule(tree, unstable, (), 4, progress)
    plan_schedule(tree, unstable, (), 4, progress)
    assert asked == ["a", "b", "a", "b"]


def test_a_new_render_forgets_what_the_last_one_learned() -> None:
    node = Sequence(Task("a", value=1), Task("b", value=1))
    first, second = rendered(node), rendered(node)
    progress = Progress(first)
    plan_schedule(first, Memo({"a": NodeState.FINISHED}), (), 4, progress)
    memo = Memo({"a": NodeState.FINISHED})
    plan_schedule(second, memo, (), 4, progress.of(second))
    assert progress.of(second) is not progress and memo.asked == ["a", "b"]


def test_a_parallel_looks_at_idle_tasks_only_while_one_could_start() -> None:
    tree = rendered(Parallel(*[Task(f"t{i}", value=1) for i in range(6)], max_concurrency=2))
    progress = Progress(tree)
    memo = Memo({})
    assert ids(plan_schedule(tree, memo, (), 10, progress).runnable) == ["t0", "t1"]
    memo.states.update(t0=NodeState.IN_PROGRESS, t1=NodeState.IN_PROGRESS)
    memo.asked.clear()
    running = [("t0", 0), ("t1", 0)]
    s = plan_schedule(tree, memo, running, 10, progress)
    assert s.runnable == [] and memo.asked == ["t0", "t1"]
    memo.states.update(t0=NodeState.FINISHED)
    memo.asked.clear()
    s = plan_schedule(tree, memo, [("t1", 0)], 10, progress)
    assert ids(s.runnable) == ["t2"] and memo.asked == ["t0", "t1", "t2"]
    memo.states.update(t1=NodeState.FINISHED, t2=NodeState.FINISHED)
    memo.asked.clear()
    s = plan_schedule(tree, memo, [], 10, progress)
    assert ids(s.runnable) == ["t3", "t4"] and memo.asked == ["t1", "t2", "t3", "t4"]


def test_an_idle_task_whose_dependency_failed_is_still_found_blocked() -> None:
    tree = rendered(
        Parallel(Task("a", value=1), Task("b", value=1, depends_on="a"), Task("c", value=1))
    )
    progress = Progress(tree)
    memo = Memo({"a": NodeState.IN_PROGRESS})
    s = plan_schedule(tree, memo, [("a", 0)], 10, progress)
    assert ids(s.runnable) == ["c"]
    memo.states.update(a=NodeState.FAILED, c=NodeState.FINISHED)
    s = plan_schedule(tree, memo, [], 10, progress)
    assert [(leaf.id, why) for leaf, why in s.blocked] == [("b", "depends on 'a', which failed")]
    assert ids(s.failed) == ["a"]
