"""A Sequence of no-op tasks (``{"steps": 200}``): the durable-step latency benchmark."""

from smithers import Sequence, Task, workflow


async def noop(t):
    return None


@workflow("bench-sequence")
def sequence(ctx):
    return Sequence(*[Task(f"s{i:03d}", noop) for i in range(int(ctx.input.get("steps", 200)))])
