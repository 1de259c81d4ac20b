"""A run's page in a real Chromium against a real server process: tool calls, attempts,
the input, an agent's conversation (a ``ScriptedModel`` on loopback), heartbeats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smithers.agents.testing import Reply
from tests.console.browsing import (
    agent_run,
    module_url,
    sign_in,
    start,
    until,
    wait_status,
    write,
)
from tests.console.workflows import AGENT, BEATING, CONVERSATION_SCRIPT, CONVERSING, TOOLING
from tests.server.process import status_of, wait_until


def test_a_run_page_shows_tool_calls_and_every_attempt(
    served: Any, project: Path, page: Any
) -> None:
    server, client = served
    tooled = start(client, write(project, "tooling.py", TOOLING))
    wait_until(lambda: status_of(client, tooled) == "finished")
    sign_in(page, server.url, f"#/runs/{tooled}")
    wait_status(page, "finished")
    call = page.locator('.tool-calls li[data-tool="lookup"][data-status="ok"]')
    call.wait_for()
    call.locator("summary").click()
    assert '"city": "Lyon"' in call.inner_text() and '"sky": "clear"' in call.inner_text()

    flaky = start(client, "flaky.py")
    wait_until(lambda: status_of(client, flaky) == "waiting-approval")
    page.goto(f"{server.url}/console/#/runs/{flaky}")
    wait_status(page, "waiting-approval")
    history = page.locator('li[data-node="flaky"] ol.attempts li')
    history.nth(1).wait_for()
    assert "attempt 1: failed" in history.nth(0).inner_text()
    assert "first attempt fails" in history.nth(0).inner_text()
    assert "attempt 2: finished" in history.nth(1).inner_text()


def test_a_run_page_shows_the_input_and_the_agents_conversation(
    project: Path, tmp_path: Path, page: Any
) -> None:
    script = [Reply("Take the train.", input_tokens=40, output_tokens=6)]
    with agent_run(project, tmp_path, AGENT, script, {"city": "Lyon"}) as (server, run_id):
        sign_in(page, server.url, f"#/runs/{run_id}")
        wait_status(page, "finished")
        turn = page.locator('.transcript li[data-role="assistant"][data-node="ask"]')
        turn.wait_for()
        assert "Take the train." in turn.inner_text()
        assert "40 in / 6 out tokens" in turn.inner_text()
        page.locator("details.input summary").click()
        assert '"city": "Lyon"' in page.inner_text("details.input pre")


FORECAST = '{\n  "city": "Lyon",\n  "sky": "clear",\n  "highs": [\n    12,\n    18\n  ]\n}'


def test_an_agents_conversation_reads_as_a_conversation(
    project: Path, tmp_path: Path, page: Any, browser: Any
) -> None:
    """Text, tool calls as chips that open to pretty-printed arguments and results, tokens per
    turn, the correction; the raw turns a toggle away; by keyboard, and at a phone's width."""
    trip = agent_run(project, tmp_path, CONVERSING, CONVERSATION_SCRIPT, {"city": "Lyon"})
    with trip as (server, run_id):
        sign_in(page, server.url, f"#/runs/{run_id}")
        wait_status(page, "finished")
        talk = page.locator('.transcript article.conversation[data-node="plan"]')
        talk.wait_for()
        assert (
            "plan · attempt 1 · 3 model turns · 470 in / 29 out tokens"
            in talk.locator("h3").inner_text()
        )
        first = talk.locator('li[data-role="assistant"]').nth(0)
        assert first.locator(".said").inner_text() == "Let me check the weather first."
        assert first.locator(".tokens").inner_text() == "120 in / 18 out tokens"
        assert not talk.locator('li[data-role="tool"]').count(), "results sit in their chips"

        ok = first.locator('.chip[data-tool="forecast"][data-status="ok"]')
        assert 'city: "Lyon"' in ok.locator("summary").inner_text()
        assert not ok.locator(".call-body").is_visible(), "a call starts collapsed"
        ok.locator("summary").click()
        assert ok.locator("pre.arguments").inner_text() == '{\n  "city": "Lyon"\n}'
        assert ok.locator("pre.result").inner_text() == FORECAST
        failed = first.locator('.chip[data-tool="almanac"][data-status="error"]')
        failed.locator("summary").focus()  # by keyboard: a chip is a disclosure
        page.keyboard.press("Enter")
        assert failed.locator("pre.result.error").inner_text() == (
            "UNKNOWN_TOOL: there is no tool named 'almanac'"
        )
        assert '\\"' not in talk.inner_text(), "no JSON escaped inside JSON"

        answers = talk.locator('li[data-role="assistant"]')
        assert answers.nth(1).locator(".said").inner_text() == "Take the train."
        assert answers.nth(1).locator(".tokens").inner_text() == "160 in / 6 out tokens"
        correction = talk.locator('li[data-role="user"]')
        assert "Correction" in correction.inner_text()
        assert correction.locator(".said").inner_text().startswith("Your answer is not valid")
        assert "the sky is clear" in answers.nth(2).locator(".said").inner_text()

        page.click("#conversation-raw")
        assert page.get_attribute("#conversation-raw", "aria-pressed") == "true"
        raw = talk.locator("pre.raw")
        assert raw.count() == 5  # every turn, tool results included
        assert json.loads(raw.nth(1).inner_text())["role"] == "tool"
        page.keyboard.press("Enter")  # the toggle keeps the focus: back to the conversation
        assert page.get_attribute("#conversation-raw", "aria-pressed") == "false"
        assert not talk.locator("pre.raw").count()
        assert ok.locator("pre.result").is_visible(), "what was opened stays open"

        phone = browser.new_context(viewport={"width": 390, "height": 844})
        try:
            narrow = phone.new_page()
            sign_in(narrow, server.url, f"#/runs/{run_id}")
            narrow.locator('.chip[data-tool="forecast"] summary').click()
            narrow.locator('.chip[data-tool="forecast"] pre.result').wait_for()
            width = narrow.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the conversation scrolls sideways: {width}px"
        finally:
            phone.close()


def _turn(turn: int, role: str, content: Any, usage: Any = None) -> dict[str, Any]:
    at = {"nodeId": "fix", "iteration": 2, "attempt": 3, "createdAtMs": 1_000 + turn}
    return {**at, "turn": turn, "role": role, "content": content, "usage": usage}


SHAPES = [
    _turn(0, "session", "sess-4f2a"),
    _turn(
        1,
        "assistant",
        {"text": "", "toolCalls": [{"id": "c1", "name": "bash", "arguments": '{"command": "ls"}'}]},
        {"input_tokens": 5, "output_tokens": 2, "cache_read_tokens": 90},
    ),
    _turn(
        2, "tool", [{"callId": "c0", "content": '"left from an earlier turn"', "isError": False}]
    ),
    _turn(3, "user", "Answer again with only a JSON object."),
]
"""A coding CLI's session, a turn whose call has no result yet, a result whose call is not
among the turns, a correction (turns the scripted model run does not make)."""

RENDER = r"""async ([url, turns]) => {
  const { Conversation } = await import(url);
  const box = document.createElement("section");
  document.body.append(box);
  new Conversation(box).show(turns);
  const rows = [...box.querySelectorAll(".turns > li")];
  return { head: box.querySelector("h3").innerText, turns: rows.map((li) => [li.dataset.role, li.innerText]) };
}"""


def test_every_shape_of_turn_reads_as_a_turn(served: Any, page: Any) -> None:
    server, _ = served
    page.goto(f"{server.url}/console/")
    shown = page.evaluate(RENDER, [module_url(page, "run", "conversation"), SHAPES])
    assert shown["head"] == "fix [2] · attempt 3 · 1 model turn · 5 in / 2 out tokens"
    roles = [role for role, _ in shown["turns"]]
    assert roles == ["session", "assistant", "tool", "user"]
    session, asked, orphan, correction = (text for _, text in shown["turns"])
    assert "Session" in session and "sess-4f2a" in session
    assert "5 in / 2 out tokens · 90 from cache" in asked
    assert "bash" in asked and 'command: "ls"' in asked and "pending" in asked
    assert "Tool results" in orphan and "left from an earlier turn" in orphan
    assert '\\"' not in orphan
    assert "Correction" in correction and "Answer again with only a JSON object." in correction


def test_a_running_task_shows_its_heartbeat_and_last_log(
    served: Any, project: Path, page: Any
) -> None:
    server, client = served
    run_id = start(client, write(project, "beating.py", BEATING))
    sign_in(page, server.url, f"#/runs/{run_id}")
    wait_status(page, "running")
    node = page.locator('li[data-node="beat"][data-state="in-progress"]')
    node.locator(".heartbeat").wait_for()
    assert "heartbeat" in node.locator(".heartbeat").inner_text()
    until(
        page,
        "/working on step [1-9]/.test(document.querySelector('li[data-node=beat] .log-line')?.textContent)",
    )
    client.post(f"/v1/runs/{run_id}/cancel")
    wait_status(page, "cancelled")
