"""An agent workflow: a model reads the project's notes with the built-in tools and files a
structured triage; after a human confirms it, the model writes the reply to the reporter.
It runs against any OpenAI-compatible endpoint:

    SMITHERS_MODEL_URL=http://127.0.0.1:11434/v1 SMITHERS_MODEL=llama3.1 \\
        uv run smithers up examples/triage.py -i '{"report": "the app crashes on save"}'

(a local Ollama; for OpenAI itself set OPENAI_API_KEY and leave SMITHERS_MODEL_URL unset).
The test suite runs it unchanged against the scripted model (tests/agents/test_example.py).
"""

import os

import msgspec

from smithers import Approval, Sequence, Task, workflow
from smithers.agents import OpenAIAgent
from smithers.tools import glob, grep, read


class Input(msgspec.Struct):
    report: str


class Triage(msgspec.Struct):
    severity: str
    area: str
    summary: str


triager = OpenAIAgent(
    model=os.environ.get("SMITHERS_MODEL", "gpt-4o-mini"),
    base_url=os.environ.get("SMITHERS_MODEL_URL", "https://api.openai.com/v1"),
    tools=[read, grep, glob],
    system="You triage bug reports. Look at the files you need, then answer in JSON.",
)


@workflow("triage", input=Input)
def triage(ctx):
    found = ctx.output_maybe("triage")  # None until the first agent has answered
    summary = f"a {found.severity} {found.area} issue: {found.summary}" if found else "the issue"
    return Sequence(
        Task(
            "triage",
            agent=triager,
            prompt=f"Triage this bug report: {ctx.input.report}",
            output=Triage,
            retries=1,
        ),
        Approval("confirm", title="Confirm the triage?"),
        Task("reply", agent=triager, prompt=f"Write one sentence to the reporter about {summary}."),
    )
