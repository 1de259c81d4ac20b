"""Contract workflow: finishes at once (two tasks), so its run is terminal within moments."""

from smithers import Sequence, Task, workflow


@workflow("contract-instant")
def instant(ctx):
    return Sequence(
        Task("first", lambda: {"n": 1}),
        Task("second", lambda t: {"n": t.output("first")["n"] + 1}),
    )
