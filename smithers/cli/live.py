"""The live view of a run on a terminal: a header and one line per mounted node, redrawn in place.

The view reads the run from the database (latest frame, node rows, attempts) whenever an event
arrives, at most ten times a second, and once a second to advance elapsed times. It only moves
the cursor up over the lines it drew itself, so anything printed before it stays put.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
import time
from typing import TextIO

from smithers.cli.progress import tool_call_text
from smithers.cli.snapshot import NodeView, error_text, live_state
from smithers.cli.style import STATE_GLYPHS, Style, format_duration, style_for, truncate
from smithers.store.rows import RunRow
from smithers.store.store import Store

__all__ = ["LiveView", "render_screen"]

_MIN_REDRAW_S = 0.1
_TICK_S = 1.0
_NAME_WIDTH_CAP = 32
_STATE_WIDTH = 16


def _now_ms() -> int:
    return int(time.time() * 1000)


def _header(run: RunRow | None, run_id: str, now_ms: int, style: Style) -> str:
    if run is None:
        return f"{style.paint('smithers', 'bold')}  run {run_id}  starting"
    status = run.status
    begun = run.started_at_ms or run.created_at_ms
    elapsed = format_duration((run.finished_at_ms or now_ms) - begun)
    glyph = STATE_GLYPHS.get(status, "?")
    return (
        f"{style.paint('smithers', 'bold')}  {run.workflow_name}  run {run_id}  "
        f"{style.state(f'{glyph} {status}', status)}  {elapsed}"
    )


def _node_line(
    view: NodeView, name_width: int, now_ms: int, extra: str | None, width: int, style: Style
) -> str:
    glyph = STATE_GLYPHS.get(view.state, "?")
    state = view.state.replace("-", " ")
    attempt = f"attempt {view.attempt}" if view.attempt else ""
    elapsed_ms = view.elapsed_ms(now_ms)
    elapsed = format_duration(elapsed_ms) if elapsed_ms is not None else ""
    name = truncate(view.name, name_width)
    plain = f"  {glyph} {name:<{name_width}}  {state:<{_STATE_WIDTH}}  {attempt:<10}  {elapsed:>7}"
    plain = truncate(plain.rstrip(), width)
    tail = ""
    room = width - len(plain) - 2
    if extra and room > 4:
        tail = "  " + style.paint(truncate(extra, room), "red" if view.error else "dim")
    coloured = style.state(plain[:4], view.state) + plain[4:]
    return coloured + tail


def _fit(views: list[NodeView], room: int) -> tuple[list[NodeView], int, int]:
    """The nodes that fit in ``room`` lines: finished ones fold first, then the tail is cut."""
    if len(views) <= room:
        return views, 0, 0
    folded = [v for v in views if v.state != "finished"]
    finished = len(views) - len(folded)
    room -= 1 if finished else 0
    if len(folded) <= room:
        return folded, finished, 0
    keep = max(0, room - 1)
    return folded[:keep], finished, len(folded) - keep


def render_screen(
    run_id: str,
    run: RunRow | None,
    views: list[NodeView],
    *,
    outputs: dict[tuple[str, int], str],
    notices: list[str],
    now_ms: int,
    size: tuple[int, int],
    style: Style,
) -> list[str]:
    """The lines of the view for a terminal of ``size`` (columns, rows)."""
    width, height = max(20, size[0] - 1), max(4, size[1] - 1)
    lines = [_header(run, run_id, now_ms, style)]
    if not views:
        lines.append(style.paint("  (no nodes mounted yet)", "dim"))
    shown, finished, cut = _fit(views, height - 1 - len(notices))
    name_width = min(_NAME_WIDTH_CAP, max((len(v.name) for v in views), default=4))
    if finished:
        lines.append(style.state(f"  ✓ {finished} finished node(s)", "finished"))
    for view in shown:
        extra = view.error or outputs.get((view.node_id, view.iteration))
        lines.append(_node_line(view, name_width, now_ms, extra, width, style))
    if cut:
        lines.append(style.paint(f"  … {cut} more", "dim"))
    lines.extend(style.paint(truncate(n, width), "yellow") for n in notices)
    return lines


_TOKEN_FIELDS = ("inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens")


def with_tokens(
    outputs: dict[tuple[str, int], str], tokens: dict[tuple[str, int], int]
) -> dict[tuple[str, int], str]:
    """Each node's latest line, followed by the tokens its agent has used so far."""
    shown = dict(outputs)
    for key, spent in tokens.items():
        line = shown.get(key, "")
        shown[key] = f"{line}  · {spent:,} tokens" if line else f"{spent:,} tokens"
    return shown


class LiveView:
    """Redraws the run in place on ``stream`` (a terminal) while it runs."""

    def __init__(self, store: Store, run_id: str, stream: TextIO = sys.stderr) -> None:
        self.store = store
        self.run_id = run_id
        self.stream = stream
        self.style = style_for(stream)
        self._outputs: dict[tuple[str, int], str] = {}
        self._tokens: dict[tuple[str, int], int] = {}
        self._notices: list[str] = []
        self._changed = asyncio.Event()
        self._drawn = 0
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    def on_event(self, payload_json: str) -> None:
        """Note an event of the run; the next redraw shows its effect."""
        event = json.loads(payload_json)
        if event.get("type") == "NodeOutput":
            text = str(event.get("text", "")).strip().splitlines()
            if text:
                self._outputs[(event.get("nodeId", ""), event.get("iteration", 0))] = text[-1]
        elif event.get("type") in ("ToolCallStarted", "ToolCallFinished"):
            key = (event.get("nodeId", ""), event.get("iteration", 0))
            self._outputs[key] = tool_call_text(event)
        elif event.get("type") == "TokenUsageReported":
            key = (event.get("nodeId", ""), event.get("iteration", 0))
            spent = sum(int(event.get(f) or 0) for f in _TOKEN_FIELDS)
            self._tokens[key] = self._tokens.get(key, 0) + spent
        elif event.get("type") == "RunFailed":
            self._notices.append(f"run failed: {error_text(event.get('error'))}")
        self._changed.set()

    def notice(self, text: str) -> None:
        """Show a message under the nodes."""
        self._notices.append(text)
        self._changed.set()

    def start(self) -> None:
        """Begin redrawing."""
        self._task = asyncio.create_task(self._redraw_loop(), name="smithers-live-view")

    async def close(self) -> None:
        """Stop redrawing and leave the final state on screen."""
        self._closing.set()
        self._changed.set()
        if self._task is not None:
            await self._task  # returns by itself: a cancelled read could leak a connection
            self._task = None
        await self.draw()

    async def _redraw_loop(self) -> None:
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_TICK_S):
                    await self._changed.wait()
            self._changed.clear()
            if self._closing.is_set():
                return
            await self.draw()
            await asyncio.sleep(_MIN_REDRAW_S)

    def _size(self) -> tuple[int, int]:
        try:
            size = os.get_terminal_size(self.stream.fileno())
        except (AttributeError, ValueError, OSError):
            return shutil.get_terminal_size()
        return (size.columns or 80, size.lines or 24)

    async def draw(self) -> None:
        """Read the run and replace the previously drawn lines with its current state."""
        run, views = await live_state(self.store, self.run_id)
        lines = render_screen(
            self.run_id,
            run,
            views,
            outputs=with_tokens(self._outputs, self._tokens),
            notices=self._notices,
            now_ms=_now_ms(),
            size=self._size(),
            style=self.style,
        )
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        self.stream.write(up + "\x1b[J" + "".join(line + "\n" for line in lines))
        self.stream.flush()
        self._drawn = len(lines)
