"""The tree stays formatted, lint-free and type-checked (the same checks as ``just lint``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["smithers", "tests", "contracts", "bench"]


@pytest.mark.parametrize(
    "argv",
    [
        ["ruff", "format", "--check", *SOURCES],
        ["ruff", "check", *SOURCES],
        ["mypy"],
    ],
    ids=["ruff-format", "ruff-check", "mypy"],
)
def test_quality_gate(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
