"""The console in a real Chromium against a real server process (console spec §1-4): sign-in,
actions, the runs and approvals pages, limits, keyboard and phone width, serve mode."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from smithers.server.process.runner import free_port
from tests.console.browsing import AUTH, TOKEN, module_url, sign_in, start, until, wait_status
from tests.server.process import status_of, wait_until


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
    sign_in(page, server.url)
    run_id = start(client, "slow.py", {"sleep": 0.01, "steps": 1})
    page.locator(f'tr[data-run="{run_id}"]').wait_for()
    waiting = start(client, "approve.py")
    page.click(f'a[href="#/runs/{waiting}"]', timeout=10_000)
    wait_status(page, "waiting-approval")  # live: the page was opened before or while it got there
    page.fill('input[aria-label="note for ship"]', "looks right")
    page.fill('input[aria-label="decider for ship"]', "ann")
    page.click('li[data-node="ship"] button.approve')
    wait_status(page, "finished")
    assert page.locator('li[data-node="b"][data-state="finished"]').count() == 1
    events = page.locator("#event-log").get_attribute("data-count")
    assert events is not None and int(events) > 5
    decided = client.get(f"/v1/runs/{waiting}/events", params={"afterSeq": -1}).text
    assert "ApprovalGranted" in decided


def test_send_a_signal_cancel_a_run_and_see_a_failure(served: Any, page: Any) -> None:
    server, client = served
    paid = start(client, "signal.py")
    wait_until(lambda: status_of(client, paid) == "waiting-event")
    sign_in(page, server.url, f"#/runs/{paid}")
    wait_status(page, "waiting-event")
    page.fill("#signal-name", "payment")
    page.fill("#signal-data", '{"amount": 12}')
    page.fill("#signal-correlation", "o-1")
    page.click("form.signal button[type=submit]")
    wait_status(page, "finished")

    slow = start(client, "slow.py", {"sleep": 30, "steps": 2})
    page.goto(f"{server.url}/console/#/runs/{slow}")
    wait_status(page, "running")
    page.click("#cancel-run")
    wait_status(page, "cancelled")
    assert status_of(client, slow) == "cancelled"

    failing = start(client, "fail.py")
    page.goto(f"{server.url}/console/#/runs/{failing}")
    wait_status(page, "failed")
    page.locator('li[data-node="boom"] .node-error').wait_for()
    assert "RuntimeError: boom" in page.inner_text('li[data-node="boom"] .node-error')
    assert "boom" in page.inner_text(".run-error")


def test_an_api_refusal_is_shown_as_the_api_words_it(served: Any, page: Any) -> None:
    """A decision made elsewhere while the inbox was open: the page's decision is refused."""
    server, client = served
    run_id = start(client, "approve.py")
    wait_until(lambda: status_of(client, run_id) == "waiting-approval")
    sign_in(page, server.url, "#/approvals")
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
    run_id = start(client, "steps.py", {"n": 6})
    wait_until(lambda: status_of(client, run_id) == "finished")
    sign_in(page, server.url, f"#/runs/{run_id}")
    wait_status(page, "finished")
    log = page.locator("#event-log")
    until(page, "document.querySelector('#type-filter').options.length > 3")
    page.select_option("#type-filter", "NodeFinished")
    until(page, "document.querySelector('#event-log').dataset.count === '6'")
    page.fill("#node-filter", "t3")
    until(page, "document.querySelector('#event-log').dataset.count === '1'")
    assert page.locator(".log-row").count() == 1
    assert "t3" in page.inner_text(".log-row")
    output = page.locator('li[data-node="t3"] details.output')
    output.locator("summary").click()
    assert output.locator("pre").inner_text() == '"t3"'  # the task's output, as JSON
    assert log.get_attribute("data-count") == "1"


def test_the_approvals_inbox_decides_in_place(served: Any, page: Any) -> None:
    server, client = served
    first = start(client, "approve.py")
    wait_until(lambda: status_of(client, first) == "waiting-approval")
    second = start(client, "approve.py")
    wait_until(lambda: status_of(client, second) == "waiting-approval")
    sign_in(page, server.url, "#/approvals")
    rows = page.locator("li.approval")
    rows.nth(1).wait_for()
    assert [rows.nth(i).get_attribute("data-run") for i in range(2)] == [first, second]
    page.locator(f'li.approval[data-run="{first}"] button.deny').click()
    page.locator(f'li.approval[data-run="{first}"]').wait_for(state="detached")
    wait_until(lambda: status_of(client, first) in ("failed", "finished", "cancelled"))
    assert status_of(client, second) == "waiting-approval"


def test_first_load_size_and_ten_thousand_events(served: Any, page: Any) -> None:
    server, client = served
    run_id = start(client, "noisy.py", {"lines": 10_000})
    wait_until(lambda: status_of(client, run_id) == "finished", timeout=60)
    sign_in(page, server.url)
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
    until(page, "Number(document.querySelector('#event-log')?.dataset.count) >= 10000")
    elapsed_ms = page.evaluate("performance.now() - window.__opened")
    print(f"10k-event run page rendered in {elapsed_ms:.0f} ms; first load {transferred} bytes")
    assert elapsed_ms <= 1000, elapsed_ms
    assert page.locator(".log-row").count() < 100, "only the rows in view are in the page"


def test_keyboard_and_a_phone_width(served: Any, browser: Any) -> None:
    server, client = served
    start(client, "approve.py")
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    phone = context.new_page()
    phone.on("dialog", lambda dialog: dialog.accept())
    try:
        sign_in(phone, server.url)
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
        wait_status(phone, "waiting-approval")
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
        sign_in(page, base)
        wait_status(page, "waiting-approval")
        assert not page.locator("#signal-name").count(), "serve mode has no signal route"
        page.click('li[data-node="ship"] button.approve')
        wait_status(page, "finished")
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


PARSE_EVERY_CUT = r"""async (url) => {
  const { SseParser } = await import(url);
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
    results = page.evaluate(PARSE_EVERY_CUT, module_url(page, "run", "sse"))
    expected = [
        {"id": "7", "type": "NodeOutput", "data": '{"text": "héllo ✓ 😀"}'},
        {"id": "8", "type": "message", "data": "a\nb"},
    ]
    assert len(results) > 100
    assert set(results) == {json.dumps(expected, ensure_ascii=False, separators=(",", ":"))}


def test_the_runs_page_pages_filters_and_counts(served: Any, page: Any) -> None:
    server, client = served
    ids = [start(client, "steps.py", {"n": 1}) for _ in range(53)]
    waiting = start(client, "approve.py")
    wait_until(lambda: status_of(client, ids[-1]) == "finished", timeout=30)
    wait_until(lambda: status_of(client, waiting) == "waiting-approval")
    sign_in(page, server.url)
    rows = page.locator("table.runs tbody tr")
    until(page, "document.querySelectorAll('table.runs tbody tr').length === 50")
    page.click("#more-runs")
    until(page, "document.querySelectorAll('table.runs tbody tr').length === 54")
    assert page.locator("#more-runs").is_hidden()
    shown = [rows.nth(i).get_attribute("data-run") for i in range(54)]
    assert sorted(shown) == sorted([*ids, waiting])
    assert "54 runs" in page.inner_text(".counts")
    page.fill("#workflow-filter", "approve")
    page.press("#workflow-filter", "Enter")
    until(page, "document.querySelectorAll('table.runs tbody tr').length === 1")
    assert rows.first.get_attribute("data-run") == waiting
    assert page.inner_text('[data-count-of="waiting-approval"]').strip().endswith("1")
    assert "1 run of approve" in page.inner_text(".counts")
