"""Contract workflow: waits for a human decision on node ``gate``, then finishes."""

from smithers import Approval, Sequence, Task, workflow


@workflow("contract-approval")
def approval(ctx):
    return Sequence(
        Approval("gate", title="Ship it?", summary="contract suite approval"),
        Task("after", lambda: {"done": True}),
    )
