"""The command line's pure parts, in this process: formats, filters, choices, parsing."""

from __future__ import annotations

import io

import pytest

from smithers.cli.common import CliError
from smithers.cli.events import event_filter, format_event
from smithers.cli.inspect import current_step, format_ps
from smithers.cli.main import HANDLERS, run
from smithers.cli.manage import pick_approval
from smithers.cli.parser import COMMAND_PARSERS, build_parser
from smithers.cli.style import Style, format_age, format_duration, style_for, truncate
from smithers.store.rows import ApprovalRow, NodeRow


def test_durations_and_ages_read_naturally() -> None:
    assert [format_duration(ms) for ms in (0, 420, 12_000, 185_000, 7_800_000, 100_000_000)] == [
        "0.0s",
        "0.4s",
        "12s",
        "3m 05s",
        "2h 10m",
        "1d 3h",
    ]
    now = 10_000_000
    assert format_age(None, now) == "-"
    assert format_age(now - 500, now) == "just now"
    assert format_age(now - 42_000, now) == "42s ago"
    assert format_age(now - 5 * 60_000, now) == "5m ago"
    assert format_age(now - 3 * 3_600_000, now) == "3h ago"
    assert truncate("abcdef", 4) == "abc…" and truncate("abc", 4) == "abc"


def test_colour_needs_a_terminal_and_no_NO_COLOR(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert style_for(Terminal()).enabled
    assert not style_for(io.StringIO()).enabled
    monkeypatch.setenv("NO_COLOR", "1")
    assert not style_for(Terminal()).enabled
    assert Style(True).paint("ok", "green") == "\x1b[32mok\x1b[0m"
    assert Style(False).paint("ok", "green") == "ok"


def test_event_filter_takes_types_and_categories() -> None:
    keep = event_filter("approval,NodeFailed", None)
    assert keep({"type": "ApprovalGranted"}) and keep({"type": "NodeWaitingApproval"})
    assert keep({"type": "NodeFailed"}) and not keep({"type": "NodeFinished"})
    only_a = event_filter(None, "a")
    assert only_a({"type": "NodeStarted", "nodeId": "a"}) and not only_a({"type": "RunStarted"})
    with pytest.raises(CliError, match="neither an event type nor a category"):
        event_filter("Bogus", None)


def test_event_lines_for_a_terminal() -> None:
    event = {
        "type": "NodeStarted",
        "runId": "r",
        "timestampMs": 1_000,
        "nodeId": "a",
        "iteration": 0,
        "attempt": 2,
        "seq": 7,
    }
    line = format_event(event, Style(False))
    assert line.startswith("#7 ") and "NodeStarted" in line and line.endswith("→ a (attempt 2)")
    other = format_event(
        {"type": "TimerCreated", "runId": "r", "timestampMs": 0, "timerId": "t", "seq": 0},
        Style(False),
    )
    assert other.endswith('timerId="t"')


def _approval(node: str, iteration: int = 0) -> ApprovalRow:
    return ApprovalRow(run_id="r", node_id=node, iteration=iteration, status="requested")


def test_pick_approval_uses_the_only_one_or_asks_for_a_node() -> None:
    assert pick_approval("r", "approve", [_approval("ship", 2)], None, None) == ("ship", 2)
    assert pick_approval("r", "approve", [_approval("a"), _approval("b", 1)], "b", None) == ("b", 1)
    assert pick_approval("r", "deny", [], "x", 3) == ("x", 3)
    with pytest.raises(CliError, match="NO_PENDING_APPROVALS"):
        pick_approval("r", "approve", [], None, None)
    with pytest.raises(CliError, match="--node b --iteration 1") as info:
        pick_approval("r", "deny", [_approval("a"), _approval("b", 1)], None, None)
    assert info.value.exit_code == 4 and "smithers deny r --node a" in str(info.value)


def test_current_step_prefers_running_then_waiting_then_latest() -> None:
    def node(node_id: str, state: str, at: int) -> NodeRow:
        return NodeRow(
            run_id="r",
            node_id=node_id,
            iteration=0,
            state=state,
            last_attempt=None,
            updated_at_ms=at,
            output_table="",
            label=None,
        )

    assert current_step([]) is None
    assert current_step([node("a", "finished", 5), node("b", "finished", 9)]) == "b"
    assert current_step([node("a", "waiting-approval", 1), node("b", "finished", 9)]) == "a"
    assert current_step([node("a", "waiting-timer", 9), node("c", "in-progress", 1)]) == "c"


def test_ps_table_for_a_terminal() -> None:
    runs = {
        "runs": [
            {
                "runId": "r1",
                "workflowName": "wf",
                "status": "failed",
                "step": "boom",
                "createdAtMs": 0,
                "startedAtMs": 0,
                "finishedAtMs": 1,
            }
        ]
    }
    lines = format_ps(runs, Style(False), 120_000).splitlines()
    assert lines[0].split() == ["RUN", "ID", "WORKFLOW", "STATUS", "STEP", "AGE"]
    assert lines[1].split() == ["r1", "wf", "✗", "failed", "boom", "2m", "ago"]
    assert "smithers up" in format_ps({"runs": []}, Style(False), 0)


def test_every_command_has_a_parser_and_a_handler() -> None:
    assert set(HANDLERS) == set(COMMAND_PARSERS)
    args = build_parser().parse_args(["events", "r", "--after-seq", "4", "-f", "--json"])
    assert (args.run_id, args.after_seq, args.follow, args.json) == ("r", 4, True, True)


def test_usage_errors_exit_4_and_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["approve", "r", "--iteration", "-1"]) == 4
    assert "expected an integer >= 0" in capsys.readouterr().err
    assert run([]) == 0
    assert "<command>" in capsys.readouterr().out
    assert run(["--help"]) == 0


def test_progress_and_the_live_view_show_tool_calls() -> None:
    from smithers.cli.progress import describe_event

    base = {"nodeId": "fix", "iteration": 0, "attempt": 1, "callId": "c", "tool": "bash"}
    assert describe_event({**base, "type": "ToolCallStarted", "input": {}}) == "  fix: ⚙ bash …"
    done = {**base, "type": "ToolCallFinished", "status": "ok", "durationMs": 31}
    assert describe_event(done) == "  fix: ⚙ bash ok 31 ms"
    failed = {**done, "status": "error", "error": {"message": "timed out", "code": "TOOL_TIMEOUT"}}
    assert describe_event(failed) == "  fix: ⚙ bash failed: timed out"


def test_the_live_view_shows_an_agents_tokens() -> None:
    from smithers.cli.live import with_tokens

    shown = with_tokens({("a", 0): "⚙ read ok 2 ms"}, {("a", 0): 1234, ("b", 1): 7})
    assert shown == {("a", 0): "⚙ read ok 2 ms  · 1,234 tokens", ("b", 1): "7 tokens"}
