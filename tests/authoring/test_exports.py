"""The public door: ``smithers.__all__`` is pinned."""

import smithers


def test_public_names_are_pinned() -> None:
    assert smithers.__all__ == [
        "UNSET",
        "Approval",
        "ApprovalDecision",
        "Branch",
        "Context",
        "Loop",
        "Node",
        "Parallel",
        "Sequence",
        "Signal",
        "SmithersError",
        "Task",
        "TaskContext",
        "Timer",
        "Workflow",
        "__version__",
        "workflow",
    ]
    for name in smithers.__all__:
        assert hasattr(smithers, name)


def test_importing_does_not_pull_in_pydantic() -> None:
    import subprocess
    import sys

    code = "import sys, smithers, smithers.engine.scheduler; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
