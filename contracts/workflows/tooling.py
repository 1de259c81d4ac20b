"""Contract workflow: one task that calls a tool (a Python function, no sandbox needed)."""

from smithers import Task, workflow
from smithers.tools import ToolContext, tool


@tool
async def add(t: ToolContext, a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def calculate(t):
    return {"sum": await t.tools.call(add, a=2, b=3)}


@workflow("contract-tooling")
def tooling(ctx):
    return Task("calculate", calculate)
