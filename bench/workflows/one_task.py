"""One no-op task: the unit of the run-throughput benchmark."""

from smithers import Sequence, Task, workflow


async def noop(t):
    return None


@workflow("bench-one-task")
def one_task(ctx):
    return Sequence(Task("only", noop))
