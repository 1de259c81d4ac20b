"""Loops: iterations keyed outputs, ``until``, ``max_iterations`` with both policies."""

from __future__ import annotations

from tests.helpers import Harness, assert_dense

LOOP = """
from smithers import workflow, Task, Sequence, Loop

def draft(t):
    return {{"version": t.iteration, "good": t.iteration >= {good_at}}}

@workflow("loop")
def build(ctx):
    latest = ctx.latest("review")
    return Sequence(
        Loop(
            "refine",
            lambda c: Sequence(
                Task("draft", draft),
                Task("review", lambda t: t.output("draft")),
            ),
            until=bool(latest and latest["good"]),
            max_iterations={max_iterations},
            on_max_reached={policy!r},
        ),
        Task("publish", lambda t: t.output("review", iteration={last})),
    )
"""


async def test_loop_runs_until_condition(db_url: str, write_workflow) -> None:
    path = write_workflow(LOOP.format(good_at=2, max_iterations=5, policy="return-last", last=2))
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "finished"
        nodes = await h.nodes(run_id)
        assert {k for k in nodes if k[0] == "draft"} == {("draft", 0), ("draft", 1), ("draft", 2)}
        assert nodes[("publish", 0)] == "finished"
        state = await h.store.reads.load_state(run_id)
        assert state is not None and state.loops == {"refine": (2, True)}
        publish = [o for o in state.untyped_outputs if o["node_id"] == "publish"]
        assert publish[0]["payload_json"] == '{"version":2,"good":true}'
        assert_dense(await h.events(run_id))


async def test_loop_max_iterations_return_last(sqlite_url: str, write_workflow) -> None:
    path = write_workflow(LOOP.format(good_at=99, max_iterations=3, policy="return-last", last=2))
    async with Harness(sqlite_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "finished"
        assert ("draft", 3) not in await h.nodes(run_id)


async def test_loop_max_iterations_fail(db_url: str, write_workflow) -> None:
    path = write_workflow(LOOP.format(good_at=99, max_iterations=2, policy="fail", last=1))
    async with Harness(db_url) as h:
        run_id, outcome = await h.run(path)
        assert outcome.status == "failed"
        assert outcome.error["code"] == "LOOP_MAX_REACHED"
        assert ("publish", 0) not in await h.nodes(run_id)


async def test_nested_loops_are_refused(sqlite_url: str, write_workflow) -> None:
    path = write_workflow(
        """
        from smithers import workflow, Task, Loop
        @workflow("nested")
        def build(ctx):
            return Loop("outer", Loop("inner", Task("x", value=1), until=True), until=True)
        """
    )
    async with Harness(sqlite_url) as h:
        _, outcome = await h.run(path)
        assert outcome.status == "failed" and outcome.error["code"] == "INVALID_WORKFLOW"
