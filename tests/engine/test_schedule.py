"""The pure scheduling walk over rendered trees."""

from __future__ import annotations

from smithers import Context, Loop, Parallel, Sequence, Task, Workflow
from smithers.authoring.context import RunOutputs
from smithers.engine.schedule import plan_schedule
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
