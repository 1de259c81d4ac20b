"""The workflows of the run page's browser tests, as the sources they write into the server's
root; and the agent run of the conversation view (its test and its screenshot): a workflow
whose agent task calls tools, and the script a ``ScriptedModel`` plays for it."""

from __future__ import annotations

from smithers.agents.testing import Call, Reply

__all__ = ["AGENT", "BEATING", "CONVERSATION_SCRIPT", "CONVERSING", "TOOLING"]

TOOLING = """
from smithers import Task, workflow
from smithers.tools import ToolContext, tool

@tool
async def lookup(t: ToolContext, city: str) -> dict:
    \"\"\"The weather of a city.\"\"\"
    return {"city": city, "sky": "clear"}

async def ask(t):
    return await t.tools.call(lookup, city="Lyon")

@workflow("tooling")
def build(ctx):
    return Task("ask", ask)
"""

AGENT = """
import os
from smithers import Task, workflow
from smithers.agents import OpenAIAgent

agent = OpenAIAgent(model="m-3", base_url=os.environ["MODEL_URL"])

@workflow("agent")
def build(ctx):
    return Task("ask", agent=agent, prompt=f"Plan a trip to {ctx.input['city']}.")
"""

BEATING = """
import asyncio
from smithers import Task, workflow

async def beat(t):
    for i in range(300):
        t.heartbeat({"step": i})
        t.log(f"working on step {i}")
        await asyncio.sleep(0.1)

@workflow("beating")
def build(ctx):
    return Task("beat", beat)
"""

CONVERSING = """
import os
import msgspec
from smithers import Task, workflow
from smithers.agents import OpenAIAgent
from smithers.tools import ToolContext, tool

@tool
async def forecast(t: ToolContext, city: str) -> dict:
    \"\"\"The weather of a city.\"\"\"
    return {"city": city, "sky": "clear", "highs": [12, 18]}

class Plan(msgspec.Struct):
    city: str
    advice: str

agent = OpenAIAgent(model="m-3", base_url=os.environ["MODEL_URL"], tools=[forecast])

@workflow("trip")
def build(ctx):
    return Task("plan", agent=agent, prompt=f"Plan a trip to {ctx.input['city']}.", output=Plan)
"""

CONVERSATION_SCRIPT = [
    Call(
        "forecast",
        {"city": "Lyon"},
        more=(("almanac", {"year": 2024}),),
        text="Let me check the weather first.",
        input_tokens=120,
        output_tokens=18,
    ),
    Reply("Take the train.", input_tokens=160, output_tokens=6),
    Reply('{"city": "Lyon", "advice": "Take the train: the sky is clear."}', input_tokens=190),
]
"""A model turn with two tool calls (one of a tool that does not exist), an answer that does
not fit the output type, the corrected answer."""
