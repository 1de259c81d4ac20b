"""The live view: ``up`` on a pseudo-terminal redraws in place; the screen renderer's rules."""

from __future__ import annotations

import re
from pathlib import Path

from smithers.cli.live import render_screen
from smithers.cli.snapshot import NodeView
from smithers.cli.style import Style
from smithers.store.rows import RunRow
from tests.cli.helpers import final_screen, on_pty

SGR_COLOUR = re.compile(r"\x1b\[\d+m")


def test_up_on_a_terminal_redraws_nodes_in_place_with_colour(project: Path) -> None:
    result, raw = on_pty("up", "approval.py", "-r", "live-1", cwd=project, timeout=60)
    assert result.code == 3
    assert result.json()["status"] == "waiting-approval"  # stdout is a pipe: JSON
    assert "\x1b[J" in raw and re.search(r"\x1b\[\d+F", raw), "the view was never redrawn"
    assert SGR_COLOUR.search(raw), "a terminal without NO_COLOR gets colour"
    screen = final_screen(raw)
    headers = [line for line in screen if "run live-1" in line and line.startswith("smithers")]
    assert len(headers) == 1, screen  # redrawn in place, not appended
    assert "waiting-approval" in headers[0] and "approval" in headers[0]
    body = screen[screen.index(headers[0]) + 1 :]
    analyze = next(line for line in body if " analyze " in line)
    assert "✓" in analyze and "finished" in analyze and "attempt 1" in analyze
    assert re.search(r"\d+\.\ds", analyze), analyze  # elapsed time
    ship = next(line for line in body if " ship " in line)
    assert "⏸" in ship and "waiting approval" in ship
    apply = next(line for line in body if " apply " in line)
    assert "not started" in apply  # mounted, not reached yet
    assert any("smithers approve live-1 --node ship" in line for line in body)


def test_no_color_turns_colour_off_but_keeps_the_live_view(project: Path) -> None:
    result, raw = on_pty("up", "steps.py", "-r", "live-2", cwd=project, NO_COLOR="1")
    assert result.code == 0
    assert result.json()["output"] == {"text": "Hello, world!"}
    assert not SGR_COLOUR.search(raw), "NO_COLOR must turn colour off"
    screen = final_screen(raw)
    assert screen[0].startswith("smithers") and "run live-2" in screen[0]
    assert "✓ finished" in screen[0]
    assert [line.split()[1] for line in screen[1:3]] == ["prepare", "greet"]
    assert all("finished" in line and "attempt 1" in line for line in screen[1:3])
    assert "greeting world" in screen[2]  # the node's last log line


def _run(status: str = "running") -> RunRow:
    return RunRow(run_id="r", workflow_name="wf", status=status, created_at_ms=0, started_at_ms=0)


def test_render_screen_folds_finished_nodes_when_the_terminal_is_short() -> None:
    views = [NodeView(f"n{i}", 0, None, "finished", 1, 0, 500) for i in range(30)] + [
        NodeView("busy", 0, None, "in-progress", 2, 1000),
        NodeView("next", 0, None, "not-started"),
    ]
    lines = render_screen(
        "r", _run(), views, outputs={}, notices=[], now_ms=4000, size=(80, 10), style=Style(False)
    )
    assert len(lines) <= 9
    assert lines[1] == "  ✓ 30 finished node(s)"
    assert "busy" in lines[2] and "attempt 2" in lines[2] and "3.0s" in lines[2]
    assert "next" in lines[3] and "not started" in lines[3]


def test_render_screen_cuts_long_lines_to_the_terminal_width() -> None:
    views = [NodeView("x" * 50, 3, None, "failed", 1, 0, 10, error="e" * 200)]
    lines = render_screen(
        "r",
        _run("failed"),
        views,
        outputs={},
        notices=["cancelling"],
        now_ms=10,
        size=(60, 24),
        style=Style(False),
    )
    assert all(len(line) <= 59 for line in lines[1:]), lines
    assert lines[1].rstrip().endswith("…")
    assert lines[-1] == "cancelling"
