"""Screenshots of the console for docs/console.md and the README, light and dark.

    uv run python -m tests.console.screenshots        # writes docs/console/*.png

A real server on loopback with a few runs (finished, failed, waiting for approval, running,
and an agent's run against a ``ScriptedModel``), the pages taken in Debian's chromium at
1280×800; the agent's conversation with two of its tool calls opened.
"""

from __future__ import annotations

import tempfile
import textwrap
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from smithers.agents.testing import ScriptedModel
from tests.console.conftest import chromium_path
from tests.console.workflows import CONVERSATION_SCRIPT, CONVERSING
from tests.server.conftest import WORKFLOWS
from tests.server.process import ServerProcess, status_of, wait_until

OUT = Path(__file__).resolve().parents[2] / "docs" / "console"
TOKEN = "screenshot-token"


def _runs(client: httpx.Client) -> dict[str, str]:
    def start(workflow: str, input: dict | None = None) -> str:  # type: ignore[type-arg]
        body = {"workflowPath": workflow, "input": input or {}}
        return str(client.post("/v1/runs", json=body).json()["runId"])

    ids = {
        "steps": start("steps.py", {"n": 8}),
        "failed": start("fail.py"),
        "deploy": start("approve.py"),
        "review": start("flaky.py"),
    }
    for run_id in ids.values():
        wait_until(lambda run_id=run_id: status_of(client, run_id) != "running", timeout=30)
    ids["trip"] = start("trip.py", {"city": "Lyon"})
    wait_until(lambda: status_of(client, ids["trip"]) == "finished", timeout=30)
    ids["running"] = start("slow.py", {"sleep": 120, "steps": 3})
    time.sleep(0.5)
    return ids


def main() -> None:
    executable = chromium_path()
    assert executable, "no chromium: apt-get install chromium"
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        for name, source in {**WORKFLOWS, "trip.py": CONVERSING}.items():
            (root / name).write_text(textwrap.dedent(source))
        headers = {"authorization": f"Bearer {TOKEN}"}
        with (
            ScriptedModel(list(CONVERSATION_SCRIPT)) as model,
            ServerProcess(
                root,
                str(Path(tmp) / "s.db"),
                token=TOKEN,
                env={"MODEL_URL": model.base_url, "OPENAI_API_KEY": "sk-screenshot"},
            ) as server,
            httpx.Client(base_url=server.url, headers=headers, timeout=20) as client,
            sync_playwright() as playwright,
        ):
            ids = _runs(client)
            browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            for scheme in ("light", "dark"):
                context = browser.new_context(
                    viewport={"width": 1280, "height": 800}, color_scheme=scheme
                )
                page = context.new_page()
                page.goto(f"{server.url}/console/")
                page.fill("#token-input", TOKEN)
                page.press("#token-input", "Enter")
                page.locator("table.runs tbody tr").nth(4).wait_for()
                page.screenshot(path=OUT / f"runs-{scheme}.png")
                page.goto(f"{server.url}/console/#/runs/{ids['review']}")
                page.locator('#run-status[data-status="waiting-approval"]').wait_for()
                page.locator(".log-row").first.wait_for()
                page.screenshot(path=OUT / f"run-{scheme}.png", full_page=True)
                page.goto(f"{server.url}/console/#/runs/{ids['trip']}")
                talk = page.locator(".transcript")
                talk.locator('.chip[data-tool="forecast"] summary').click()
                talk.locator('.chip[data-tool="almanac"] summary').click()
                talk.screenshot(path=OUT / f"conversation-{scheme}.png")
                page.goto(f"{server.url}/console/#/approvals")
                page.locator("li.approval").nth(1).wait_for()
                page.screenshot(path=OUT / f"approvals-{scheme}.png")
                context.close()
            browser.close()
            client.post(f"/v1/runs/{ids['running']}/cancel")
    for path in sorted(OUT.glob("*.png")):
        print(path.relative_to(OUT.parents[1]), path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
