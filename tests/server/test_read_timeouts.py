"""The read timeouts reach the settings from flags, and the workers through the environment."""

from __future__ import annotations

import argparse

import pytest

from smithers.server.process.command import add_server_arguments, settings_from_args
from smithers.server.process.settings import ServerSettings


def _parsed(*argv: str) -> ServerSettings:
    parser = argparse.ArgumentParser()
    add_server_arguments(parser)
    return settings_from_args(parser.parse_args(list(argv)))


def test_defaults_and_flags() -> None:
    default = _parsed()
    assert (default.header_read_timeout, default.body_read_timeout) == (10.0, 30.0)
    given = _parsed("--header-read-timeout", "2.5", "--body-read-timeout", "7")
    assert (given.header_read_timeout, given.body_read_timeout) == (2.5, 7.0)


def test_workers_read_them_back_from_the_environment() -> None:
    settings = ServerSettings(header_read_timeout=1.5, body_read_timeout=0.25)
    again = ServerSettings.from_env(settings.to_env())
    assert (again.header_read_timeout, again.body_read_timeout) == (1.5, 0.25)


@pytest.mark.parametrize("field", ["header_read_timeout", "body_read_timeout"])
def test_a_timeout_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match="positive"):
        ServerSettings(**{field: 0})  # type: ignore[arg-type]
