"""Fixtures of the command-line tests: a folder with the test workflows (and later a database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import write_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh folder holding every test workflow; commands run there."""
    return write_project(tmp_path)
