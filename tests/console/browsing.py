"""What the console's browser tests share: the token, starting a run, signing in, waiting
on the page."""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from smithers.agents.testing import ScriptedModel, Step
from tests.server.process import ServerProcess, status_of, wait_until

__all__ = [
    "AUTH",
    "NOISY",
    "TOKEN",
    "agent_run",
    "module_url",
    "sign_in",
    "start",
    "until",
    "wait_status",
    "write",
]

TOKEN = "browser-token-8a2c"
AUTH = {"authorization": f"Bearer {TOKEN}"}
NOISY = """
from smithers import Task, workflow

def chatter(t):
    for i in range(t.input.get("lines", 10)):
        t.log(f"line {i}")
    return "done"

@workflow("noisy")
def build(ctx):
    return Task("chatter", chatter)
"""


def write(project: Path, name: str, source: str) -> str:
    """Put a workflow file into the server's root; its path, to start it."""
    (project / name).write_text(textwrap.dedent(source))
    return name


def start(client: httpx.Client, workflow: str, input: dict[str, Any] | None = None) -> str:
    answer = client.post("/v1/runs", json={"workflowPath": workflow, "input": input or {}})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["runId"])


def sign_in(page: Any, url: str, hash_: str = "") -> None:
    page.goto(f"{url}/console/{hash_}")
    page.locator("#token-dialog[open]").wait_for()
    page.fill("#token-input", TOKEN)
    page.press("#token-input", "Enter")
    page.locator("#token-dialog[open]").wait_for(state="detached")


def until(page: Any, expression: str, timeout: float = 20.0) -> Any:
    """Poll ``expression`` in the page until it is truthy (``wait_for_function`` evaluates
    strings with ``eval``, which the console's CSP forbids, rightly)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        assert time.monotonic() < deadline, f"never true: {expression}"
        time.sleep(0.02)


def wait_status(page: Any, status: str, timeout: float = 20_000) -> None:
    page.locator(f'#run-status[data-status="{status}"]').wait_for(timeout=timeout)


@contextmanager
def agent_run(
    project: Path, tmp_path: Path, source: str, script: list[Step], input: dict[str, Any]
) -> Iterator[tuple[ServerProcess, str]]:
    """A server whose agents talk to a ``ScriptedModel`` playing ``script``, and the id of a
    run of the workflow ``source`` that finished there."""
    with ScriptedModel(list(script)) as model:
        env = {"MODEL_URL": model.base_url, "OPENAI_API_KEY": "sk-test-console"}
        with (
            ServerProcess(project, str(tmp_path / "agent.db"), token=TOKEN, env=env) as server,
            httpx.Client(base_url=server.url, headers=AUTH, timeout=20) as client,
        ):
            run_id = start(client, write(project, "agent.py", source), input)
            wait_until(lambda: status_of(client, run_id) == "finished", timeout=30)
            yield server, run_id


def module_url(page: Any, *chain: str) -> str:
    """The content-hashed URL of a console module, found by following the imports from the
    page's script: ``module_url(page, "run", "sse")`` is the ``sse.js`` that ``run.js`` imports."""
    url = str(page.evaluate("document.querySelector('script[type=module]').src"))
    for stem in chain:
        found = re.search(rf'from "\./({stem}\.[0-9a-f]+\.js)"', httpx.get(url).text)
        assert found, f"{url} imports no {stem}.js"
        url = f"{url.rsplit('/', 1)[0]}/{found.group(1)}"
    return url
