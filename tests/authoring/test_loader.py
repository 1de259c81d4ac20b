"""Loading workflow files by path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smithers.authoring.loader import load_workflow, resolve_workflow_path
from smithers.errors import InvalidRequest, WorkflowLoadError, WorkflowPathOutsideRoot

GOOD = """
from smithers import workflow, Task
@workflow("good")
def build(ctx):
    return Task("a", value=1)
"""


def test_load_uses_content_hash_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "wf.py"
    path.write_text(GOOD)
    first = load_workflow(path)
    assert first.workflow.name == "good"
    assert load_workflow(path) is first  # unchanged bytes: the same module
    path.write_text(GOOD.replace('"good"', '"better"'))
    second = load_workflow(path)
    assert second.workflow.name == "better" and second.hash != first.hash
    assert second.module.__name__ != first.module.__name__
    assert sorted(os.listdir(tmp_path)) == ["wf.py"]  # no shadow copies, no __pycache__


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("raise RuntimeError('boom')", "RuntimeError: boom"),
        ("def broken(:\n", "SyntaxError"),
        ("x = 1", "defines no smithers.Workflow"),
        (
            GOOD + "\nother = build\n" + GOOD.replace('"good"', '"two"').replace("build", "b2"),
            "several",
        ),
        ("import sys; sys.exit(3)", "SystemExit"),
    ],
)
def test_load_failures_name_the_problem(tmp_path: Path, source: str, message: str) -> None:
    path = tmp_path / "bad.py"
    path.write_text(source)
    with pytest.raises(WorkflowLoadError) as err:
        load_workflow(path)
    assert message in err.value.message
    assert err.value.code == "WORKFLOW_LOAD_FAILED"


def test_several_workflows_pick_the_one_named_workflow(tmp_path: Path) -> None:
    path = tmp_path / "two.py"
    path.write_text(
        GOOD
        + "\n"
        + GOOD.replace('"good"', '"two"').replace("def build", "def b2")
        + "\nworkflow = b2\n"
    )
    assert load_workflow(path).workflow.name == "two"


def test_resolve_confines_paths_to_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "wf.py").write_text(GOOD)
    outside = tmp_path / "outside.py"
    outside.write_text(GOOD)
    (root / "link.py").symlink_to(outside)
    assert resolve_workflow_path("wf.py", root) == root / "wf.py"
    assert resolve_workflow_path(str(root / "wf.py"), root) == root / "wf.py"
    for escape in ("../outside.py", str(outside), "link.py"):
        with pytest.raises(WorkflowPathOutsideRoot):
            resolve_workflow_path(escape, root)
    with pytest.raises(InvalidRequest, match=r"workflow file not found: nope\.py"):
        resolve_workflow_path("nope.py", root)
    with pytest.raises(InvalidRequest, match="not found"):
        resolve_workflow_path(".", root)
