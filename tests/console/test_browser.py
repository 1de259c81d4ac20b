"""The console in a real Chromium against a real server process (console spec §1-4)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from smithers.agents.testing import Reply, ScriptedModel
from smithers.server.process.runner import free_port
from tests.server.process import ServerProcess, status_of, wait_until

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


@pytest.fixture
def served(project: Path, tmp_path: Path) -> Any:
    (project / "noisy.py").write_text(textwrap.dedent(NOISY))
    with (
        ServerProcess(project, str(tmp_path / "s.db"), token=TOKEN) as server,
        httpx.Client(base_url=server.url, headers=AUTH, timeout=20) as client,
    ):
        yield server, client


def _start(client: httpx.Client, workflow: str, input: dict[str, Any] | None = None) -> str:
    answer = client.post("/v1/runs", json={"workflowPath": workflow, "input": input or {}})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["runId"])


def _sign_in(page: Any, url: str, hash_: str = "") -> None:
    page.goto(f"{url}/console/{hash_}")
    page.locator("#token-dialog[open]").wait_for()
    page.fill("#token-input", TOKEN)
    page.press("#token-input", "Enter")
    page.locator("#token-dialog[open]").wait_for(state="detached")


def _until(page: Any, expression: str, timeout: float = 20.0) -> Any:
    """Poll ``expression`` in the page until it is truthy (``wait_for_function`` evaluates
    strings with ``eval``, which the console's CSP forbids, rightly)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        assert time.monotonic() < deadline, f"never true: {expression}"
        time.sleep(0.02)


def _status(page: Any, status: str, timeout: float = 20_000) -> None:
    page.locator(f'#run-status[data-status="{status}"]').wait_for(timeout=timeout)


def test_a_wrong_token_is_asked_again_and_the_right_one_is_kept(served: Any, page: Any) -> None:
    server, _ = served
    page.goto(f"{server.url}/console/")
    page.fill("#token-input", "wrong")
    page.press("#token-input", "Enter")
    page.locator("#token-error:not([hidden])").wait_for()
    assert "refused" in page.inner_text("#token-error")
    page.fill("#token-input", TOKEN)
    page.press("#token-input", "Enter")
    page.locator("h1", has_text="Runs").wait_for()
    assert page.evaluate("sessionStorage.getItem('smithers.token')") == TOKEN
    page.reload()
    page.locator("table.runs").wait_for()
    assert not page.locator("#token-dialog[open]").count()


def test_watch_a_run_wait_for_approval_and_approve_it_from_the_page(served: Any, page: Any) -> None:
    server, client = served
    _sign_in(page, server.url)
    run_id = _start(client, "slow.py", {"sleep": 0.01, "steps": 1})
    page.locator(f'tr[data-run="{run_id}"]').wait_for()
    waiting = _start(client, "approve.py")
    page.click(f'a[href="#/runs/{waiting}"]', timeout=10_000)
    _status(page, "waiting-approval")  # live: the page was opened before or while it got there
    page.fill('input[aria-label="note for ship"]', "looks right")
    page.fill('input[aria-label="decider for ship"]', "ann")
    page.click('li[data-node="ship"] button.approve')
    _status(page, "finished")
    assert page.locator('li[data-node="b"][data-state="finished"]').count() == 1
    events = page.locator("#event-log").get_attribute("data-count")
    assert events is not None and int(events) > 5
    decided = client.get(f"/v1/runs/{waiting}/events", params={"afterSeq": -1}).text
    assert "ApprovalGranted" in decided


def test_send_a_signal_cancel_a_run_and_see_a_failure(served: Any, page: Any) -> None:
    server, client = served
    paid = _start(client, "signal.py")
    wait_until(lambda: status_of(client, paid) == "waiting-event")
    _sign_in(page, server.url, f"#/runs/{paid}")
    _status(page, "waiting-event")
    page.fill("#signal-name", "payment")
    page.fill("#signal-data", '{"amount": 12}')
    page.fill("#signal-correlation", "o-1")
    page.click("form.signal button[type=submit]")
    _status(page, "finished")

    slow = _start(client, "slow.py", {"sleep": 30, "steps": 2})
    page.goto(f"{server.url}/console/#/runs/{slow}")
    _status(page, "running")
    page.click("#cancel-run")
    _status(page, "cancelled")
    assert status_of(client, slow) == "cancelled"

    failing = _start(client, "fail.py")
    page.goto(f"{server.url}/console/#/runs/{failing}")
    _status(page, "failed")
    page.locator('li[data-node="boom"] .node-error').wait_for()
    assert "RuntimeError: boom" in page.inner_text('li[data-node="boom"] .node-error')
    assert "boom" in page.inner_text(".run-error")


def test_an_api_refusal_is_shown_as_the_api_words_it(served: Any, page: Any) -> None:
    """A decision made elsewhere while the inbox was open: the page's decision is refused."""
    server, client = served
    run_id = _start(client, "approve.py")
    wait_until(lambda: status_of(client, run_id) == "waiting-approval")
    _sign_in(page, server.url, "#/approvals")
    row = page.locator(f'li.approval[data-run="{run_id}"]')
    row.wait_for()
    path = f"/v1/runs/{run_id}/nodes/ship"
    assert client.post(f"{path}/approve", json={}).status_code == 200
    row.locator("button.deny").click()  # a different decision on a decided node: 409
    again = client.post(f"{path}/deny", json={}).json()["error"]
    toast = page.locator("#toast p.error")
    toast.wait_for()
    assert f"{again['code']}: {again['message']}" in toast.inner_text()


def test_filter_the_event_log(served: Any, page: Any) -> None:
    server, client = served
    run_id = _start(client, "steps.py", {"n": 6})
    wait_until(lambda: status_of(client, run_id) == "finished")
    _sign_in(page, server.url, f"#/runs/{run_id}")
    _status(page, "finished")
    log = page.locator("#event-log")
    _until(page, "document.querySelector('#type-filter').options.length > 3")
    page.select_option("#type-filter", "NodeFinished")
    _until(page, "document.querySelector('#event-log').dataset.count === '6'")
    page.fill("#node-filter", "t3")
    _until(page, "document.querySelector('#event-log').dataset.count === '1'")
    assert page.locator(".log-row").count() == 1
    assert "t3" in page.inner_text(".log-row")
    output = page.locator('li[data-node="t3"] details.output')
    output.locator("summary").click()
    assert output.locator("pre").inner_text() == '"t3"'  # the task's output, as JSON
    assert log.get_attribute("data-count") == "1"


def test_the_approvals_inbox_decides_in_place(served: Any, page: Any) -> None:
    server, client = served
    first = _start(client, "approve.py")
    wait_until(lambda: status_of(client, first) == "waiting-approval")
    second = _start(client, "approve.py")
    wait_until(lambda: status_of(client, second) == "waiting-approval")
    _sign_in(page, server.url, "#/approvals")
    rows = page.locator("li.approval")
    rows.nth(1).wait_for()
    assert [rows.nth(i).get_attribute("data-run") for i in range(2)] == [first, second]
    page.locator(f'li.approval[data-run="{first}"] button.deny').click()
    page.locator(f'li.approval[data-run="{first}"]').wait_for(state="detached")
    wait_until(lambda: status_of(client, first) in ("failed", "finished", "cancelled"))
    assert status_of(client, second) == "waiting-approval"


def test_first_load_size_and_ten_thousand_events(served: Any, page: Any) -> None:
    server, client = served
    run_id = _start(client, "noisy.py", {"lines": 10_000})
    wait_until(lambda: status_of(client, run_id) == "finished", timeout=60)
    _sign_in(page, server.url)
    page.locator("table.runs").wait_for()
    transferred = page.evaluate(
        """() => performance.getEntriesByType("navigation").concat(
             performance.getEntriesByType("resource"))
           .filter((e) => new URL(e.name).pathname.startsWith("/console"))
           .reduce((sum, e) => sum + (e.transferSize || e.encodedBodySize), 0)"""
    )
    assert 0 < transferred <= 200_000, transferred
    page.evaluate("window.__opened = performance.now()")
    page.evaluate(f"location.hash = '#/runs/{run_id}'")
    _until(page, "Number(document.querySelector('#event-log')?.dataset.count) >= 10000")
    elapsed_ms = page.evaluate("performance.now() - window.__opened")
    print(f"10k-event run page rendered in {elapsed_ms:.0f} ms; first load {transferred} bytes")
    assert elapsed_ms <= 1000, elapsed_ms
    assert page.locator(".log-row").count() < 100, "only the rows in view are in the page"


def test_keyboard_and_a_phone_width(served: Any, browser: Any) -> None:
    server, client = served
    _start(client, "approve.py")
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    phone = context.new_page()
    phone.on("dialog", lambda dialog: dialog.accept())
    try:
        _sign_in(phone, server.url)
        phone.locator("table.runs tbody tr").first.wait_for()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways: {width}px"
        phone.reload()  # the token is kept for the tab; focus starts at the top of the page
        phone.locator("table.runs tbody tr").first.wait_for()
        phone.keyboard.press("Tab")
        assert phone.evaluate("document.activeElement.className") == "skip"
        for _ in range(12):
            phone.keyboard.press("Tab")
            if phone.evaluate("document.activeElement.closest('tbody') !== null"):
                break
        phone.keyboard.press("Enter")
        _status(phone, "waiting-approval")
    finally:
        context.close()


def test_up_serve_serves_the_console_for_its_run(project: Path, page: Any) -> None:
    """``smithers up --serve``: the same console, on the serve-mode routes of its one run."""
    port = free_port("127.0.0.1")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "smithers"),
            "up",
            "approve.py",
            "--serve",
            "--port",
            str(port),
            "--auth-token",
            TOKEN,
            "--no-metrics",
            "--sandbox",
            "none",
        ],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(f"{base}/health"), timeout=30)
        _sign_in(page, base)
        _status(page, "waiting-approval")
        assert not page.locator("#signal-name").count(), "serve mode has no signal route"
        page.click('li[data-node="ship"] button.approve')
        _status(page, "finished")
        root = httpx.get(f"{base}/", headers=AUTH).json()
        assert root["status"] == "finished"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


PARSE_EVERY_CUT = r"""async (app) => {
  const base = app.slice(0, app.lastIndexOf("/") + 1);
  const imported = async (url, stem) => {
    const source = await (await fetch(url)).text();
    const found = new RegExp(`from "\\./(${stem}\\.[0-9a-f]+\\.js)"`).exec(source);
    return base + found[1];
  };
  const pages = await imported(app, "pages");
  const { SseParser } = await import(await imported(pages, "sse"));
  const text = "retry: 1000\r\n\r\n: keep-alive\n\nid: 7\r\nevent: NodeOutput\r\n"
    + 'data: {"text": "héllo ✓ 😀"}\r\n\r\nid: 8\ndata: a\ndata: b\n\n';
  const runs = [];
  for (let cut = 0; cut <= text.length; cut += 1) {
    const got = [];
    const parser = new SseParser((e) => got.push(e));
    parser.feed(text.slice(0, cut));
    parser.feed(text.slice(cut));
    runs.push(JSON.stringify(got));
  }
  return runs;
}"""


def test_the_event_stream_parser_takes_any_chunking(served: Any, page: Any) -> None:
    """The console's SSE parser in the browser, fed a stream cut at every possible place
    (inside ``data:``, between CR and LF, between the halves of a surrogate pair)."""
    server, _ = served
    page.goto(f"{server.url}/console/")
    app = page.evaluate("document.querySelector('script[type=module]').src")
    results = page.evaluate(PARSE_EVERY_CUT, app)
    expected = [
        {"id": "7", "type": "NodeOutput", "data": '{"text": "héllo ✓ 😀"}'},
        {"id": "8", "type": "message", "data": "a\nb"},
    ]
    assert len(results) > 100
    assert set(results) == {json.dumps(expected, ensure_ascii=False, separators=(",", ":"))}


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


def test_a_run_page_shows_tool_calls_and_every_attempt(
    served: Any, project: Path, page: Any
) -> None:
    server, client = served
    (project / "tooling.py").write_text(textwrap.dedent(TOOLING))
    tooled = _start(client, "tooling.py")
    wait_until(lambda: status_of(client, tooled) == "finished")
    _sign_in(page, server.url, f"#/runs/{tooled}")
    _status(page, "finished")
    call = page.locator('.tool-calls li[data-tool="lookup"][data-status="ok"]')
    call.wait_for()
    call.locator("summary").click()
    assert '"city": "Lyon"' in call.inner_text() and '"sky": "clear"' in call.inner_text()

    flaky = _start(client, "flaky.py")
    wait_until(lambda: status_of(client, flaky) == "waiting-approval")
    page.goto(f"{server.url}/console/#/runs/{flaky}")
    _status(page, "waiting-approval")
    history = page.locator('li[data-node="flaky"] ol.attempts li')
    history.nth(1).wait_for()
    assert "attempt 1: failed" in history.nth(0).inner_text()
    assert "first attempt fails" in history.nth(0).inner_text()
    assert "attempt 2: finished" in history.nth(1).inner_text()


AGENT = """
import os
from smithers import Task, workflow
from smithers.agents import OpenAIAgent

agent = OpenAIAgent(model="m-3", base_url=os.environ["MODEL_URL"])

@workflow("agent")
def build(ctx):
    return Task("ask", agent=agent, prompt=f"Plan a trip to {ctx.input['city']}.")
"""


def test_a_run_page_shows_the_input_and_the_agents_conversation(
    project: Path, tmp_path: Path, page: Any
) -> None:
    (project / "agent.py").write_text(textwrap.dedent(AGENT))
    with ScriptedModel([Reply("Take the train.", input_tokens=40, output_tokens=6)]) as model:
        env = {"MODEL_URL": model.base_url, "OPENAI_API_KEY": "sk-test-console"}
        with (
            ServerProcess(project, str(tmp_path / "a.db"), token=TOKEN, env=env) as server,
            httpx.Client(base_url=server.url, headers=AUTH, timeout=20) as client,
        ):
            run_id = _start(client, "agent.py", {"city": "Lyon"})
            wait_until(lambda: status_of(client, run_id) == "finished", timeout=30)
            _sign_in(page, server.url, f"#/runs/{run_id}")
            _status(page, "finished")
            turn = page.locator('.transcript li[data-role="assistant"][data-node="ask"]')
            turn.wait_for()
            assert "Take the train." in turn.inner_text()
            assert "40 in / 6 out tokens" in turn.inner_text()
            page.locator("details.input summary").click()
            assert '"city": "Lyon"' in page.inner_text("details.input pre")


def test_the_runs_page_pages_filters_and_counts(served: Any, page: Any) -> None:
    server, client = served
    ids = [_start(client, "steps.py", {"n": 1}) for _ in range(53)]
    waiting = _start(client, "approve.py")
    wait_until(lambda: status_of(client, ids[-1]) == "finished", timeout=30)
    wait_until(lambda: status_of(client, waiting) == "waiting-approval")
    _sign_in(page, server.url)
    rows = page.locator("table.runs tbody tr")
    _until(page, "document.querySelectorAll('table.runs tbody tr').length === 50")
    page.click("#more-runs")
    _until(page, "document.querySelectorAll('table.runs tbody tr').length === 54")
    assert page.locator("#more-runs").is_hidden()
    shown = [rows.nth(i).get_attribute("data-run") for i in range(54)]
    assert sorted(shown) == sorted([*ids, waiting])
    assert "54 runs" in page.inner_text(".counts")
    page.fill("#workflow-filter", "approve")
    page.press("#workflow-filter", "Enter")
    _until(page, "document.querySelectorAll('table.runs tbody tr').length === 1")
    assert rows.first.get_attribute("data-run") == waiting
    assert page.inner_text('[data-count-of="waiting-approval"]').strip().endswith("1")
    assert "1 run of approve" in page.inner_text(".counts")


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


def test_a_running_task_shows_its_heartbeat_and_last_log(
    served: Any, project: Path, page: Any
) -> None:
    server, client = served
    (project / "beating.py").write_text(textwrap.dedent(BEATING))
    run_id = _start(client, "beating.py")
    _sign_in(page, server.url, f"#/runs/{run_id}")
    _status(page, "running")
    node = page.locator('li[data-node="beat"][data-state="in-progress"]')
    node.locator(".heartbeat").wait_for()
    assert "heartbeat" in node.locator(".heartbeat").inner_text()
    _until(
        page,
        "/working on step [1-9]/.test(document.querySelector('li[data-node=beat] .log-line')?.textContent)",
    )
    client.post(f"/v1/runs/{run_id}/cancel")
    _status(page, "cancelled")
