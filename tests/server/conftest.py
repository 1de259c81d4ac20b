"""Fixtures of the server tests: a folder of workflow files the servers may run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

WORKFLOWS = {
    "approve.py": """
        from smithers import workflow, Task, Sequence, Approval
        @workflow("approve")
        def build(ctx):
            return Sequence(Task("a", value=1), Approval("ship", title="Ship?"), Task("b", value=2))
    """,
    "signal.py": """
        from smithers import workflow, Task, Sequence, Signal
        @workflow("signal")
        def build(ctx):
            return Sequence(Signal("paid", name="payment", correlation_id="o-1"),
                            Task("after", lambda t: t.output("paid")))
    """,
    "slow.py": """
        import asyncio
        from smithers import workflow, Task, Sequence
        async def nap(t):
            await asyncio.sleep(t.input.get("sleep", 30))
            return t.node_id
        @workflow("slow")
        def build(ctx):
            return Sequence(*[Task(f"s{i}", nap) for i in range(ctx.input.get("steps", 1))])
    """,
    "steps.py": """
        import asyncio
        from smithers import workflow, Task, Sequence
        async def step(t):
            await asyncio.sleep(0.02)
            return t.node_id
        @workflow("steps")
        def build(ctx):
            return Sequence(*[Task(f"t{i}", step) for i in range(ctx.input.get("n", 10))])
    """,
    "flaky.py": """
        from smithers import workflow, Task, Sequence, Approval
        def flaky(t):
            if t.attempt == 1:
                raise RuntimeError("first attempt fails")
            return t.attempt
        @workflow("flaky")
        def build(ctx):
            return Sequence(Task("flaky", flaky, retries=1), Approval("gate", title="Go?"))
    """,
    "fail.py": """
        from smithers import workflow, Task
        def boom():
            raise RuntimeError("boom")
        @workflow("fail")
        def build(ctx):
            return Task("boom", boom)
    """,
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    for name, source in WORKFLOWS.items():
        (folder / name).write_text(textwrap.dedent(source))
    return folder
