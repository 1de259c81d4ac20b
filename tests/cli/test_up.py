"""``smithers up`` as a user runs it: results, exit codes, plain progress, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smithers.cli.main import run
from tests.cli.helpers import smithers, smithers_each

PLAIN_LINE = re.compile(r"^\[\d\d:\d\d:\d\d\] .")


def test_a_run_that_finishes_exits_0_with_its_output(project: Path) -> None:
    result = smithers("up", "steps.py", "--input", '{"name": "Ada"}', "-r", "run-ok", cwd=project)
    assert result.code == 0, result.stderr
    assert result.json() == {
        "runId": "run-ok",
        "status": "finished",
        "output": {"text": "Hello, Ada!"},
    }
    assert (project / "smithers.db").is_file()  # ./smithers.db by default


def test_plain_progress_is_one_line_per_event_without_escapes(project: Path) -> None:
    result = smithers("steps.py", "-i", '{"name": "Bo"}', cwd=project)  # the shorthand of `up`
    assert result.code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines and all(PLAIN_LINE.match(line) for line in lines), lines
    assert "\x1b" not in result.stderr
    texts = [line.split("] ", 1)[1] for line in lines]
    assert texts == [
        "→ prepare (attempt 1)",
        "✓ prepare",
        "→ greet (attempt 1)",
        "  greet: greeting Bo",
        "✓ greet",
        "✓ Run finished",
    ]


def test_a_failing_run_exits_1_with_its_error_and_retry_lines(project: Path) -> None:
    result = smithers("up", "failing.py", cwd=project)
    assert result.code == 1
    body = result.json()
    assert body["status"] == "failed"
    assert body["output"] == 1  # the last finished node of the top-level sequence
    assert "boom" in str(body["error"])
    texts = [line.split("] ", 1)[1] for line in result.stderr.splitlines()]
    assert "✗ boom: disk on fire" in texts
    assert "↻ boom retrying (attempt 2)" in texts
    assert texts[-1].startswith("✗ Run failed:")


def test_bad_input_exits_4_and_names_the_problem(project: Path) -> None:
    cases = [
        (["up", "steps.py", "--input", "{not json"], "--input is not valid JSON"),
        (["up", "steps.py", "--input", "[1, 2]"], "--input must be a JSON object"),
        (["up", "steps.py", "--input", '{"name": 5}'], "Expected `str`"),
        (["up", "missing.py"], "workflow file not found: missing.py"),
    ]
    results = smithers_each([args for args, _ in cases], cwd=project)
    for (args, message), result in zip(cases, results, strict=True):
        assert result.code == 4, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert result.stdout == ""
    assert not (project / "smithers.db").exists() or smithers("ps", cwd=project).json() == {
        "runs": []
    }


def test_bad_flags_exit_4_and_name_the_problem(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project)  # in this process: the checks come before any database is opened
    cases = [
        (["up", "steps.py", "--run-id", "bad id!"], "is not a valid run id"),
        (["up", "steps.py", "--resume"], "--resume needs --run-id"),
        (["up", "steps.py", "-c", "0"], "expected a positive integer"),
        (["up", "steps.py", "--no-such-flag"], "unrecognized arguments"),
        (["ps", "--limit", "x"], "expected a positive integer"),
    ]
    for args, message in cases:
        assert run(args) == 4, args
        captured = capsys.readouterr()
        assert message in captured.err and captured.out == "", (args, captured)
    assert not (project / "smithers.db").exists()


def test_a_workflow_that_cannot_be_loaded_is_bad_input(project: Path) -> None:
    (project / "broken.py").write_text("import no_such_module_here\n")
    result = smithers("up", "broken.py", cwd=project)
    assert result.code == 4
    assert "cannot load broken.py" in result.stderr and "no_such_module_here" in result.stderr


def test_run_id_reuse_and_resume_rules(project: Path) -> None:
    assert smithers("up", "steps.py", "-r", "again", cwd=project).code == 0
    reused = smithers("up", "steps.py", "-r", "again", cwd=project)
    assert reused.code == 4
    assert "RUN_EXISTS" in reused.stderr and "--resume" in reused.stderr
    unknown = smithers("up", "steps.py", "-r", "nobody", "--resume", cwd=project)
    assert unknown.code == 4 and "RUN_NOT_FOUND" in unknown.stderr
    resumed = smithers("up", "steps.py", "-r", "again", "--resume", "--json", cwd=project)
    assert resumed.code == 0 and resumed.json()["status"] == "finished"


def test_db_flag_and_environment_choose_the_database(project: Path) -> None:
    flagged = smithers("up", "steps.py", "--db", str(project / "flag.db"), cwd=project)
    assert flagged.code == 0 and (project / "flag.db").is_file()
    env_db = project / "env.db"
    from_env = smithers("up", "steps.py", cwd=project, SMITHERS_DB=str(env_db))
    assert from_env.code == 0 and env_db.is_file()
    listed = smithers("ps", "--db", str(env_db), cwd=project).json()["runs"]
    assert [r["runId"] for r in listed] == [from_env.json()["runId"]]


def test_unknown_commands_and_bad_flags_fail_clearly(project: Path) -> None:
    bad_workers = smithers("server", "--workers", "0", cwd=project)
    assert bad_workers.code == 4 and "--workers must be at least 1" in bad_workers.stderr
    unknown = smithers("frobnicate", cwd=project)
    assert unknown.code == 4 and "invalid choice" in unknown.stderr
    version = smithers("--version", cwd=project)
    assert version.code == 0 and version.stdout.startswith("smithers ")
