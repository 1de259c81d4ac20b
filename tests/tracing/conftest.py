"""Fixtures of the tracing tests: the server tests' workflow folder."""

from tests.server.conftest import root

__all__ = ["root"]
