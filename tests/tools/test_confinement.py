"""The file tools never read or write outside the run's root: an escape suite on real files,
run once through ``openat2`` and once through the component walk used without it."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smithers.errors import InvalidToolInput, PathOutsideRoot, ToolError
from smithers.tools import root as root_module
from smithers.tools.files import edit_file, glob_paths, grep_files, read_file, write_file
from smithers.tools.root import Root

SECRET = "outside-secret"


@pytest.fixture(params=["openat2", "walk"])
def resolver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "walk":
        monkeypatch.setattr(root_module, "_openat2_works", False)
    return str(request.param)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET)
    return folder


@pytest.fixture
def root(tmp_path: Path, resolver: str) -> Iterator[Root]:
    folder = tmp_path / "root"
    folder.mkdir()
    (folder / "inside.txt").write_text("hello\nworld\n")
    with Root(folder) as held:
        yield held


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_reads_and_writes_inside_the_root_work(root: Root) -> None:
    assert read_file(root, "inside.txt").text == "     1\thello\n     2\tworld"
    assert read_file(root, str(root.path / "inside.txt")).lines == 2  # absolute, inside
    written = write_file(root, "new/deeper/file.txt", "content")
    assert written.bytes == 7 and (root.path / "new/deeper/file.txt").read_text() == "content"
    assert edit_file(root, "new/deeper/file.txt", "tent", "TENT").replacements == 1
    assert (root.path / "new/deeper/file.txt").read_text() == "conTENT"


@pytest.mark.parametrize(
    "path",
    [
        "../outside/secret.txt",
        "a/../../outside/secret.txt",
        "/etc/passwd",
        "/proc/self/root/etc/passwd",
    ],
)
def test_paths_that_climb_out_are_refused(root: Root, outside: Path, path: str) -> None:
    before = _snapshot(outside)
    with pytest.raises(PathOutsideRoot):
        read_file(root, path)
    with pytest.raises(PathOutsideRoot):
        write_file(root, path.replace("secret.txt", "new.txt").replace("passwd", "new"), "x")
    with pytest.raises(PathOutsideRoot):
        edit_file(root, path, "o", "0")
    assert _snapshot(outside) == before


def test_symlinks_that_lead_out_are_refused(root: Root, outside: Path) -> None:
    (root.path / "link").symlink_to(outside)
    (root.path / "file-link").symlink_to(outside / "secret.txt")
    (root.path / "proc-link").symlink_to("/proc/self/root")
    (root.path / "relative-link").symlink_to("../outside")
    before = _snapshot(outside)
    for path in (
        "link/secret.txt",
        "file-link",
        "proc-link/etc/passwd",
        "relative-link/secret.txt",
    ):
        with pytest.raises(PathOutsideRoot):
            read_file(root, path)
    for path in ("link/new.txt", "relative-link/new.txt", "link/sub/new.txt"):
        with pytest.raises(PathOutsideRoot):
            write_file(root, path, "x")
    with pytest.raises(PathOutsideRoot):
        edit_file(root, "file-link", "secret", "public")
    write_file(root, "file-link", "replaced")  # replaces the link itself, inside the root
    assert not (root.path / "file-link").is_symlink()
    assert _snapshot(outside) == before
    assert not list(outside.glob("new*")) and not (outside / "sub").exists()


def test_a_hard_link_to_a_file_outside_is_refused(root: Root, outside: Path) -> None:
    os.link(outside / "secret.txt", root.path / "hard.txt")
    with pytest.raises(PathOutsideRoot):
        read_file(root, "hard.txt")
    with pytest.raises(PathOutsideRoot):
        edit_file(root, "hard.txt", "secret", "public")
    assert grep_files(root, "secret").matches == []
    write_file(root, "hard.txt", "mine")  # a new file under that name; the other is untouched
    assert (outside / "secret.txt").read_text() == SECRET


def test_a_folder_swapped_for_a_symlink_during_use_never_leads_out(
    root: Root, outside: Path
) -> None:
    real = root.path / "d"
    parked = root.path / "d-real"
    parked.mkdir()
    (parked / "secret.txt").write_text("inside")
    stop = threading.Event()

    def swap() -> None:
        # A symlink to the outside, then the real folder, under the same name, over and over;
        # a write may make a folder of that name in between, which is removed again.
        while not stop.is_set():
            try:
                if real.is_dir() and not real.is_symlink():
                    shutil.rmtree(real, ignore_errors=True)
                real.symlink_to(outside)
                time.sleep(0.0002)
                real.unlink()
                parked.rename(real)
                time.sleep(0.0002)
                real.rename(parked)
            except OSError:
                continue

    swapper = threading.Thread(target=swap, daemon=True)
    swapper.start()
    seen: set[str] = set()
    try:
        for attempt in range(3000):
            try:
                seen.add(read_file(root, "d/secret.txt").text)
            except (PathOutsideRoot, InvalidToolInput):
                seen.add("refused")
            try:
                write_file(root, f"d/w{attempt % 7}.txt", "written")
            except ToolError:
                pass
    finally:
        stop.set()
        swapper.join(5)
    assert SECRET not in " ".join(seen)
    assert "     1\tinside" in seen  # the race was real: the folder was there at times
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_grep_takes_a_pattern_never_an_option_and_stays_inside(root: Root, outside: Path) -> None:
    (root.path / "flags.txt").write_text("run with --pre=sh here\n")
    (root.path / "link").symlink_to(outside)
    found = grep_files(root, "--pre=sh")
    assert found.matches == ["flags.txt:1:run with --pre=sh here"]
    assert grep_files(root, SECRET).matches == []  # the linked folder is not walked
    assert grep_files(root, "WORLD", ignore_case=True).matches == ["inside.txt:2:world"]
    with pytest.raises(InvalidToolInput):
        grep_files(root, "(unclosed")


def test_glob_matches_newest_first_and_stays_inside(root: Root, outside: Path) -> None:
    write_file(root, "src/a.py", "a")
    write_file(root, "src/pkg/b.py", "b")
    os.utime(root.path / "src/a.py", (1, 1))
    (root.path / "link").symlink_to(outside)
    assert glob_paths(root, "**/*.py").paths == ["src/pkg/b.py", "src/a.py"]
    assert glob_paths(root, "*.py", "src").paths == ["src/a.py"]
    assert glob_paths(root, "**/*.txt").paths == ["inside.txt"]
    with pytest.raises(PathOutsideRoot):
        glob_paths(root, "*", "link")


def test_edit_names_the_count_and_read_refuses_binary(root: Root) -> None:
    write_file(root, "twice.txt", "x = 1\nx = 1\n")
    with pytest.raises(InvalidToolInput, match="2 times"):
        edit_file(root, "twice.txt", "x = 1", "x = 2")
    assert edit_file(root, "twice.txt", "x = 1", "x = 2", replace_all=True).replacements == 2
    with pytest.raises(InvalidToolInput, match="0 occurrences"):
        edit_file(root, "twice.txt", "absent", "y")
    (root.path / "blob.bin").write_bytes(b"\x00\x01binary")
    with pytest.raises(InvalidToolInput, match="binary"):
        read_file(root, "blob.bin")
