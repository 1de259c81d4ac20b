"""Fixtures of the console tests: the server tests' workflows, a real browser, a server."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console.browsing import AUTH, NOISY, TOKEN
from tests.server.conftest import root
from tests.server.process import ServerProcess

__all__ = ["browser", "chromium_path", "root", "served"]

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    """Debian's chromium (``.ci/run`` installs it), or another Chrome on the PATH."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    # Module-scoped: while Playwright's sync API is open, its event loop counts as running in
    # this thread, and the asyncio tests collected after this module could not start theirs.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    refused: list[str] = []
    opened.on(
        "console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None
    )
    opened.on("dialog", lambda dialog: dialog.accept())  # confirmations: the user says yes
    opened.on("pageerror", lambda error: refused.append(f"uncaught: {error}"))
    try:
        yield opened
    finally:
        context.close()
    assert not refused, "the console broke its own policy or threw: " + "; ".join(refused)


@pytest.fixture
def project(root: Path) -> Path:
    return root


@pytest.fixture
def served(project: Path, tmp_path: Path) -> Any:
    (project / "noisy.py").write_text(textwrap.dedent(NOISY))
    with (
        ServerProcess(project, str(tmp_path / "s.db"), token=TOKEN) as server,
        httpx.Client(base_url=server.url, headers=AUTH, timeout=20) as client,
    ):
        yield server, client
