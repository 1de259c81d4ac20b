"""``Workflow`` and the ``@workflow`` decorator."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from smithers.authoring.nodes import Node

if TYPE_CHECKING:
    from smithers.authoring.context import Context

__all__ = ["Workflow", "workflow"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,127}$")

BuildFn = Callable[["Context"], Node]


class Workflow:
    """A named build function plus its run options."""

    __slots__ = ("build", "db", "input_type", "max_concurrency", "name")

    def __init__(
        self,
        name: str,
        build: BuildFn,
        *,
        input: type[msgspec.Struct] | None = None,
        db: str | Path | None = None,
        max_concurrency: int = 4,
    ) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"workflow name must be 1-128 characters of letters, digits, ' ._:/-', got {name!r}"
            )
        if not callable(build):
            raise TypeError(f"workflow {name!r}: the build function must be callable")
        if input is not None and not (
            isinstance(input, type) and issubclass(input, msgspec.Struct)
        ):
            raise TypeError(
                f"workflow {name!r}: input must be a msgspec.Struct type, got {input!r}"
            )
        if db is not None and not isinstance(db, str | Path):
            raise TypeError(f"workflow {name!r}: db must be a path or a database URL")
        if (
            isinstance(max_concurrency, bool)
            or not isinstance(max_concurrency, int)
            or max_concurrency < 1
        ):
            raise ValueError(f"workflow {name!r}: max_concurrency must be a positive integer")
        self.name = name
        self.build = build
        self.input_type = input
        self.db = None if db is None else str(db)
        self.max_concurrency = max_concurrency

    def __repr__(self) -> str:
        return f"Workflow({self.name!r})"

    def convert_input(self, raw: dict[str, Any]) -> Any:
        """The run input as ``ctx.input`` sees it; raises ``msgspec.ValidationError``."""
        if self.input_type is None:
            return raw
        return msgspec.convert(raw, self.input_type)


def workflow(
    name: str,
    *,
    input: type[msgspec.Struct] | None = None,
    db: str | Path | None = None,
    max_concurrency: int = 4,
) -> Callable[[BuildFn], Workflow]:
    """Turn a build function ``ctx -> node`` into a ``Workflow``."""
    if callable(name):
        raise TypeError("@workflow needs a name: write @workflow('my-workflow')")
    # Validate the options now, not when the decorated function is applied.
    Workflow(name, lambda ctx: Node(), input=input, db=db, max_concurrency=max_concurrency)

    def decorate(build: BuildFn) -> Workflow:
        return Workflow(name, build, input=input, db=db, max_concurrency=max_concurrency)

    return decorate
