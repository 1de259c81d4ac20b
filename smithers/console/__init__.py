"""The web console: static files in the package, served at ``/console/`` (docs/console.md).

The console is a client of the documented ``/v1`` API (and, under ``smithers up --serve``,
of the serve-mode routes); its files hold no data, so they are served without auth. Assets
get content-hashed names and are cached for a year; the HTML names them and is never cached.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Literal

__all__ = ["CONSOLE_PREFIX", "SECURITY_HEADERS", "Asset", "Console", "console_for"]

CONSOLE_PREFIX = "/console"

Mode = Literal["server", "serve"]

_TYPES = {
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml",
}
_ASSETS = (
    "api.js",
    "sse.js",
    "events.js",
    "dom.js",
    "paths.js",
    "nodes.js",
    "conversation.js",
    "runs.js",
    "run.js",
    "approvals.js",
    "app.js",
    "console.css",
    "icon.svg",
)
"""Leaves first: a module is named after the modules it imports, which have their hashed
names by then."""

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


@dataclass(frozen=True, slots=True)
class Asset:
    """One file as it is sent."""

    body: bytes
    content_type: bytes
    cache_control: bytes


class Console:
    """The console's files, read once; ``lookup`` answers a path under ``/console``."""

    def __init__(self, mode: Mode) -> None:
        folder = resources.files("smithers.console") / "static"
        files = {name: (folder / name).read_bytes() for name in _ASSETS}
        self.hashed: dict[str, str] = {}
        self.assets: dict[str, Asset] = {}
        # ES modules import one another by name: hash the leaves first, then rewrite imports
        for name in _ASSETS:
            body = files[name]
            for earlier, hashed in self.hashed.items():
                body = body.replace(f"./{earlier}".encode(), f"./{hashed}".encode())
            digest = hashlib.sha256(body).hexdigest()[:12]
            stem, dot, ext = name.rpartition(".")
            hashed_name = f"{stem}.{digest}{dot}{ext}"
            self.hashed[name] = hashed_name
            self.assets[f"{CONSOLE_PREFIX}/assets/{hashed_name}"] = Asset(
                body, _TYPES[f".{ext}"], b"public, max-age=31536000, immutable"
            )
        page = (folder / "index.html").read_text()
        for name, hashed in self.hashed.items():
            page = page.replace(f"assets/{name}", f"assets/{hashed}")
        page = page.replace('data-mode="server"', f'data-mode="{mode}"')
        self.page = Asset(page.encode(), b"text/html; charset=utf-8", b"no-store")

    def lookup(self, path: str) -> Asset | None:
        """The file ``path`` names (``/console/`` and any page below it: the HTML)."""
        if path == f"{CONSOLE_PREFIX}/":
            return self.page
        return self.assets.get(path)


_consoles: dict[Mode, Console] = {}


def console_for(mode: Mode) -> Console:
    """The console of a server (``server``) or of ``smithers up --serve`` (``serve``)."""
    found = _consoles.get(mode)
    if found is None:
        found = _consoles[mode] = Console(mode)
    return found
