"""Limits on what enters a run."""

from __future__ import annotations

from typing import Any

import msgspec

from smithers.errors import InvalidRequest

__all__ = ["MAX_INPUT_BYTES", "MAX_INPUT_DEPTH", "check_input"]

MAX_INPUT_BYTES = 256 * 1024
MAX_INPUT_DEPTH = 16


def _depth(value: Any) -> int:
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in item)
    return deepest


def check_input(value: dict[str, Any]) -> None:
    """A run input must be a JSON object of at most 256 KiB encoded, nested at most 16 deep."""
    size = len(msgspec.json.encode(value))
    if size > MAX_INPUT_BYTES:
        raise InvalidRequest(f"input is {size} bytes encoded; the limit is {MAX_INPUT_BYTES}")
    if _depth(value) > MAX_INPUT_DEPTH:
        raise InvalidRequest(f"input is nested deeper than {MAX_INPUT_DEPTH} levels")
