"""Contract workflow: waits for a signal named ``go``, then finishes."""

from smithers import Sequence, Signal, Task, workflow


@workflow("contract-signal")
def signal(ctx):
    return Sequence(
        Signal("wait", name="go"),
        Task("after", lambda: {"done": True}),
    )
