"""No tool call can stall its process: patterns match in linear time with the GIL released,
file tools stop when their call is cancelled, large files are read through, and one attempt
runs at most ``max_parallel_tools`` calls at once. Real files and threads, timed loosely
(the bounds are orders of magnitude above what the work takes, and far below a stall)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from smithers.errors import InvalidToolInput, ToolInterrupted
from smithers.tools import tool
from smithers.tools.budget import Budget
from smithers.tools.files import glob_paths, grep_files, read_file
from smithers.tools.root import Root
from smithers.tools.tool import ToolContext
from smithers.tools.toolbox import Toolbox


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


def test_a_catastrophic_pattern_is_matched_in_linear_time(root: Path) -> None:
    (root / "a.txt").write_text(("a" * 40 + "!\n") * 1000)
    with Root(root) as held:
        began = time.perf_counter()
        assert grep_files(held, r"^(a+)+$").matches == []
        assert grep_files(held, r"(x+x+)+y").matches == []
        assert glob_paths(held, "*" * 12 + "x").paths == []
        (root / ("b" * 200)).write_text("")
        assert glob_paths(held, "*" * 40 + "x").paths == []
        assert time.perf_counter() - began < 1.0


def test_patterns_re2_cannot_run_are_invalid_input(root: Path) -> None:
    with Root(root) as held:
        for pattern in (r"(a)\1", r"(?=x)y", "[z-a]", "(", "x" * 10_001):
            with pytest.raises(InvalidToolInput):
                grep_files(held, pattern)
        for pattern in ("[z-a]x", "x" * 10_001):
            with pytest.raises(InvalidToolInput):
                glob_paths(held, pattern)


def test_grep_reports_each_matching_line_once_with_its_number(root: Path) -> None:
    (root / "f.txt").write_text("alpha beta\nbeta\r\n\nno\nbeta beta\nlast beta")
    with Root(root) as held:
        assert grep_files(held, "beta").matches == [
            "f.txt:1:alpha beta",
            "f.txt:2:beta",
            "f.txt:5:beta beta",
            "f.txt:6:last beta",
        ]
        assert grep_files(held, "^$").matches == ["f.txt:3:"]
        assert grep_files(held, "a[^x]*no").matches == []  # no match spans a newline
        assert grep_files(held, "BETA$", ignore_case=True).matches[:2] == [
            "f.txt:1:alpha beta",
            "f.txt:2:beta",
        ]


def test_a_large_file_is_read_through_and_counted(root: Path) -> None:
    line = "x" * 99 + "\n"
    (root / "big.txt").write_text(line * 150_000 + "tail")  # 15 MB, above the 10 MiB cap
    with Root(root) as held:
        start = read_file(held, "big.txt", limit=2)
        assert start.lines == 150_001 and start.truncated
        end = read_file(held, "big.txt", offset=149_999, limit=10)
        assert end.lines == 150_001 and not end.truncated
        assert end.text == f"150000\t{'x' * 99}\n150001\ttail"


def test_a_cancelled_budget_stops_the_work_at_its_next_check(root: Path) -> None:
    for index in range(200):
        (root / f"f{index}.txt").write_text("line\n" * 100)
    budget = Budget()
    budget.cancel()
    with Root(root) as held, pytest.raises(ToolInterrupted):
        grep_files(held, "line", budget=budget)


async def test_the_event_loop_answers_while_grep_works(root: Path) -> None:
    (root / "big.txt").write_text(("a" * 5000 + "\n") * 1500)  # 7.5 MB
    toolbox = Toolbox(root, allow_network=False)
    gaps: list[float] = []

    async def tick() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    try:
        for _ in range(3):
            await toolbox.grep(r"(a|aa)+b")
    finally:
        ticker.cancel()
    assert gaps and max(gaps) < 0.1, max(gaps)


async def test_one_attempt_runs_at_most_max_parallel_tools_calls(root: Path) -> None:
    running, peak, lock = 0, 0, threading.Lock()

    @tool
    async def slow(t: ToolContext, n: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        await asyncio.sleep(0.02)
        with lock:
            running -= 1
        return n

    @tool
    async def nested(t: ToolContext, n: int) -> int:
        result: int = await t.tools.call(slow, n=n)  # inside a call: no second slot
        return result

    toolbox = Toolbox(root, allow_network=False, max_parallel_tools=3)
    results = await asyncio.gather(*(toolbox.call(slow, n=i) for i in range(40)))
    assert results == list(range(40)) and peak == 3
    peak = 0
    assert len(await asyncio.gather(*(toolbox.call(nested, n=i) for i in range(10)))) == 10
    assert peak == 3
    default = Toolbox(root, allow_network=False)
    peak = 0
    await asyncio.gather(*(default.call(slow, n=i) for i in range(40)))
    assert peak == 8


def test_grep_searches_one_file_when_the_path_names_it(root: Path) -> None:
    (root / "sub").mkdir()
    (root / "sub" / "a.txt").write_text("needle\nhay\n")
    (root / "sub" / "b.txt").write_text("needle\n")
    with Root(root) as held:
        assert grep_files(held, "needle", path="sub/a.txt").matches == ["sub/a.txt:1:needle"]
        assert len(grep_files(held, "needle", path="sub").matches) == 2
