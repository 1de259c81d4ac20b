"""Error messages never show where the server's root directory is."""

from __future__ import annotations

import os
from pathlib import Path

from smithers.server.http.errors import without_server_paths


def test_the_root_is_shown_as_a_placeholder(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    message = f"cannot open {root}/wf/x.db nor {os.path.realpath(root)}/y"
    shown = without_server_paths(message, root)
    assert shown == "cannot open <root>/wf/x.db nor <root>/y"


def test_without_a_root_the_message_is_unchanged() -> None:
    assert without_server_paths("cannot open /x", None) == "cannot open /x"
    assert without_server_paths("a/b", Path("/")) == "a/b"  # "/" is not a path worth hiding
