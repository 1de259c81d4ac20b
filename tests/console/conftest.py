"""Fixtures of the console tests: the server tests' workflows, a real browser."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import root

__all__ = ["browser", "chromium_path", "root"]

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
