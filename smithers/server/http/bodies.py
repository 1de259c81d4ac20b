"""Decoding a JSON request body into an object, pathological bodies included.

msgspec parses nested values by recursion, bounded by the interpreter's recursion limit: a
body nested a few hundred levels deep raises ``RecursionError`` (and so does skipping it as
``msgspec.Raw``). Such a body is then scanned without recursion, to refuse it with a 400 that
names the top-level field nested too deeply, instead of failing the request with a 500.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from smithers.engine.limits import MAX_INPUT_DEPTH
from smithers.errors import InvalidJson, InvalidRequest

__all__ = ["decode_object"]

NOT_AN_OBJECT = "request body must be a JSON object"

_TOKEN = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)|[\[\]{}:,]', re.DOTALL)
"""The tokens that give JSON its structure: strings (skipped whole), brackets, ``:`` and ``,``.

Possessive, and a string may end at the end of the body: every match attempt then succeeds in
one pass, so an unterminated string costs linear time (a plain ``"(?:[^"\\]|\\.)*"`` retried
from every later quote of ``"\\"\\"\\"…``, quadratic in the body's length)."""

_CLOSING = {ord("]"): ord("["), ord("}"): ord("{")}


def decode_object(raw: bytes) -> dict[str, Any]:
    """The JSON object in ``raw``; ``InvalidJson`` or ``InvalidRequest`` (naming the field)."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidJson(str(exc)) from exc
    except UnicodeDecodeError as exc:  # msgspec validates UTF-8 inside strings, outside DecodeError
        raise InvalidJson(f"invalid UTF-8 in a JSON string: {exc.reason}") from exc
    except RecursionError:
        raise _too_deep(raw) from None
    if not isinstance(value, dict):
        raise InvalidRequest(NOT_AN_OBJECT)
    return value


def _too_deep(raw: bytes) -> InvalidRequest:
    """The error for a body too deeply nested for the parser: which field is at fault."""
    if raw.lstrip()[:1] != b"{":
        return InvalidRequest(NOT_AN_OBJECT)
    field = _deepest_field(raw)
    if field == "input":  # the run input's own rule, worded as check_input words it
        return InvalidRequest(f"input is nested deeper than {MAX_INPUT_DEPTH} levels")
    return InvalidRequest(f"{field} is nested too deeply")


def _deepest_field(raw: bytes) -> str:
    """The top-level key whose value is nested deepest (an iterative scan of the tokens)."""
    stack: list[int] = []
    key = deepest_key = None
    deepest = 0
    expect_key = False
    for match in _TOKEN.finditer(raw):
        token = match.group()
        first = token[0]
        if first == ord('"'):
            if len(stack) == 1 and expect_key:
                key, expect_key = token, False
        elif first in (ord("{"), ord("[")):
            stack.append(first)
            if len(stack) == 1:
                expect_key = True
            elif len(stack) > deepest:
                deepest, deepest_key = len(stack), key
        elif first in _CLOSING:
            if not stack or stack.pop() != _CLOSING[first]:
                raise InvalidJson(f"mismatched '{chr(first)}' at byte {match.start()}")
            if not stack:
                break
        elif first == ord(",") and len(stack) == 1:
            expect_key = True
    if stack:
        raise InvalidJson("input data was truncated")
    if deepest_key is None:
        raise InvalidJson("malformed JSON object")
    try:
        name = msgspec.json.decode(deepest_key)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidJson(f"malformed key: {exc}") from exc
    return str(name)[:64]
