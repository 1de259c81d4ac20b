"""Colours, glyphs and human formats of times, shared by every human-readable view."""

from __future__ import annotations

import os
import re
import time
from typing import TextIO

__all__ = [
    "STATE_GLYPHS",
    "Style",
    "format_age",
    "format_clock",
    "format_duration",
    "style_for",
    "truncate",
    "visible_len",
]

_SGR = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

STATE_GLYPHS: dict[str, str] = {
    "pending": "○",
    "in-progress": "▶",
    "waiting-approval": "⏸",
    "waiting-event": "✉",
    "waiting-timer": "⏲",
    "finished": "✓",
    "failed": "✗",
    "cancelled": "⊘",
    "skipped": "↷",
    "running": "▶",
    "continued": "↪",
    "not-started": "·",
}
"""One glyph per node state and run status (``not-started``: mounted, not reached yet)."""

_STATE_COLOURS: dict[str, str] = {
    "finished": "green",
    "failed": "red",
    "cancelled": "red",
    "waiting-approval": "yellow",
    "waiting-event": "yellow",
    "waiting-timer": "yellow",
    "in-progress": "cyan",
    "running": "cyan",
    "pending": "dim",
    "skipped": "dim",
    "not-started": "dim",
}

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def _colour_wanted(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


class Style:
    """Wraps text in ANSI colours, or returns it unchanged when colour is off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def paint(self, text: str, colour: str | None) -> str:
        """``text`` in ``colour`` (one of bold, dim, red, green, yellow, cyan)."""
        if not self.enabled or not colour or not text:
            return text
        return f"\x1b[{_CODES[colour]}m{text}\x1b[0m"

    def state(self, text: str, state: str) -> str:
        """``text`` in the colour of a node state or run status."""
        return self.paint(text, _STATE_COLOURS.get(state))


def style_for(stream: TextIO) -> Style:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set."""
    return Style(_colour_wanted(stream))


def visible_len(text: str) -> int:
    """Length of ``text`` without its escape sequences."""
    return len(_SGR.sub("", text))


def truncate(text: str, width: int) -> str:
    """Plain ``text`` cut to ``width`` characters, ending in ``…`` when cut."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: width - 1] + "…"


def format_duration(ms: int | float) -> str:
    """``0.4s``, ``12s``, ``3m 05s``, ``2h 10m``, ``1d 4h``."""
    seconds = max(0.0, ms / 1000)
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def format_age(then_ms: int | None, now_ms: int) -> str:
    """``just now``, ``12s ago``, ``5m ago``, ``3h ago``, ``2d ago`` (``-`` when unknown)."""
    if then_ms is None:
        return "-"
    seconds = max(0, (now_ms - then_ms) // 1000)
    if seconds < 2:
        return "just now"
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def format_clock(ms: int | None) -> str:
    """Local ``YYYY-MM-DD HH:MM:SS`` of an epoch-ms timestamp (``-`` when unknown)."""
    if ms is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))
