"""Limits on what enters a run."""

from __future__ import annotations

from typing import Any

import msgspec

from smithers.errors import InvalidRequest

__all__ = ["MAX_INPUT_BYTES", "MAX_INPUT_DEPTH", "check_input"]

MAX_INPUT_BYTES = 256 * 1024
MAX_INPUT_DEPTH = 16


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than ``limit`` deep (iterative: any depth is safe)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            stack.extend(
                (v, depth + 1) for v in (item.values() if isinstance(item, dict) else item)
            )
    return False


def check_input(value: dict[str, Any]) -> None:
    """A run input must be a JSON object of at most 256 KiB encoded, nested at most 16 deep."""
    # depth first: encoding recurses, so only a value known to be shallow is encoded
    if _deeper_than(value, MAX_INPUT_DEPTH):
        raise InvalidRequest(f"input is nested deeper than {MAX_INPUT_DEPTH} levels")
    size = len(msgspec.json.encode(value))
    if size > MAX_INPUT_BYTES:
        raise InvalidRequest(f"input is {size} bytes encoded; the limit is {MAX_INPUT_BYTES}")
