"""The workflow of the authoring guide: analyse, ask a human, apply."""

import msgspec

from smithers import Approval, Sequence, Task, TaskContext, workflow


class Input(msgspec.Struct):
    description: str


class Analysis(msgspec.Struct):
    summary: str
    severity: str


class Patch(msgspec.Struct):
    diff: str


async def analyze(t: TaskContext) -> Analysis:
    t.heartbeat({"stage": "reading"})
    return Analysis(summary=t.input.description[:60], severity="low")


def fix(t: TaskContext) -> Patch:
    a = t.output("analyze")
    return Patch(diff=f"--- fix for {a.summary}")


@workflow("bugfix", input=Input)
def bugfix(ctx):
    return Sequence(
        Task("analyze", analyze, output=Analysis, retries=2, timeout=30),
        Approval("ship", title="Apply the fix?", on_deny="fail"),
        Task("fix", fix, output=Patch),
    )
