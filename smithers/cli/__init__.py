"""The ``smithers`` command."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``smithers`` console script."""
    from smithers.cli.main import run

    return run(sys.argv[1:] if argv is None else argv)
