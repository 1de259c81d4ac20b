"""The console's files over HTTP: where they are, their headers, no auth, nothing else moved."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.server.process import ServerProcess

TOKEN = "console-token-4d1f"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> ServerProcess:
    folder = tmp_path_factory.mktemp("console-serving")
    with ServerProcess(folder, str(folder / "s.db"), token=TOKEN) as running:
        yield running


def test_the_page_and_its_assets_need_no_token_and_carry_the_security_headers(
    server: ServerProcess,
) -> None:
    page = httpx.get(f"{server.url}/console/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-store"
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text, "no inline script"
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page.text), "nothing from elsewhere"
    assets = re.findall(r'(?:src|href)="(assets/[^"]+)"', page.text)
    assert assets and all(
        re.fullmatch(r"assets/[a-z]+\.[0-9a-f]{12}\.(js|css|svg)", a) for a in assets
    )
    for asset in assets:
        answer = httpx.get(f"{server.url}/console/{asset}")
        assert answer.status_code == 200, asset
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    script = httpx.get(f"{server.url}/console/{next(a for a in assets if a.endswith('.js'))}").text
    imported = re.findall(r'from "\./([^"]+)"', script)
    assert imported and all(re.fullmatch(r"[a-z]+\.[0-9a-f]{12}\.js", name) for name in imported)


def test_everything_else_answers_as_before(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/v1/runs").status_code == 401  # data still needs the token
    moved = httpx.get(f"{server.url}/console", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/console/"
    missing = httpx.get(f"{server.url}/console/assets/nothing.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    refused = httpx.post(f"{server.url}/console/")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"
    head = httpx.head(f"{server.url}/console/")
    assert head.status_code == 200 and head.content == b""
    root = httpx.get(f"{server.url}/", headers={"authorization": f"Bearer {TOKEN}"})
    assert root.status_code == 404 and root.json()["error"]["code"] == "NOT_FOUND"


def test_the_package_holds_the_files(tmp_path: Path) -> None:
    from smithers.console import console_for

    console = console_for("server")
    assert console.lookup("/console/") is console.page
    assert b'data-mode="server"' in console.page.body
    assert b'data-mode="serve"' in console_for("serve").page.body
    total = len(console.page.body) + sum(len(a.body) for a in console.assets.values())
    assert total < 200_000
