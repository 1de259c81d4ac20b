"""What the server trusts inside a run's root, no tool may see or change: its databases are
invisible, the workflow files it loaded and the modules they imported read-only, and so is
the Python environment it runs in even inside the root. Real files, real bubblewrap, the
attacks as a model would make them."""

from __future__ import annotations

import os
import sqlite3
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from smithers import trust
from smithers.authoring.loader import load_workflow
from smithers.errors import PathProtected
from smithers.tools.files import edit_file, glob_paths, grep_files, read_file, write_file
from smithers.tools.policy import policy_for
from smithers.tools.root import Root
from smithers.tools.shell import Shell

MARKER = "PRIVATE-INPUT-" + uuid.uuid4().hex


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A project folder as people lay it out: the workflow, a helper module it imports,
    and the database beside them (``--root . --db ./smithers.db``)."""
    folder = tmp_path / "project"
    (folder / "flows" / "lib").mkdir(parents=True)
    module = f"helpers_{uuid.uuid4().hex[:8]}"
    (folder / "flows" / "lib" / f"{module}.py").write_text("VALUE = 1\n")
    (folder / "flows" / "flow.py").write_text(
        textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {str(folder / "flows" / "lib")!r})
            import {module}
            from smithers import workflow, Task

            @workflow("flow")
            def flow(ctx):
                return Task("a", value={module}.VALUE)
        """)
    )
    load_workflow(folder / "flows" / "flow.py")
    database = folder / "smithers.db"
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE runs (input TEXT)")
    conn.execute("INSERT INTO runs VALUES (?)", (MARKER,))
    conn.commit()
    trust.protect_database(database)
    yield folder
    conn.close()


def _module_of(root: Path) -> Path:
    return next((root / "flows" / "lib").glob("helpers_*.py"))


def test_the_policy_names_what_the_server_trusts(root: Path) -> None:
    policy = policy_for(root)
    assert {p.name for p in policy.hidden} == {
        "smithers.db",
        "smithers.db-wal",
        "smithers.db-shm",
        "smithers.db-journal",
    }
    assert root / "flows" / "flow.py" in policy.read_only
    assert _module_of(root) in policy.read_only
    assert root / "flows" / "lib" / "__pycache__" in policy.read_only
    assert policy.ancestors == (root / "flows", root / "flows" / "lib")


async def test_bash_sees_no_byte_of_the_database(root: Path) -> None:
    shell = Shell(root)
    probe = (
        "cat smithers.db smithers.db-wal 2>&1; grep -rl PRIVATE-INPUT . 2>&1; "
        "python3 -c \"import sqlite3; c = sqlite3.connect('smithers.db'); "
        "print(c.execute('select * from runs').fetchall())\" 2>&1"
    )
    result = await shell.run(probe)
    assert MARKER not in result.output
    forge = (
        "python3 -c \"import sqlite3; c = sqlite3.connect('smithers.db'); "
        'c.execute(\\"insert into runs values (\'forged\')\\"); c.commit()"; '
        "printf 'forged journal' > smithers.db-journal; rm -f smithers.db-wal; "
        "mv smithers.db moved.db; ln smithers.db linked.db"
    )
    await shell.run(forge)
    check = sqlite3.connect(root / "smithers.db")
    assert check.execute("SELECT input FROM runs").fetchall() == [(MARKER,)]
    check.close()
    assert (root / "smithers.db-journal").read_bytes() == b""
    assert not (root / "moved.db").exists() and not (root / "linked.db").exists()


async def test_bash_cannot_change_the_code_the_server_runs(root: Path) -> None:
    flow, module = root / "flows" / "flow.py", _module_of(root)
    before = {flow: flow.read_bytes(), module: module.read_bytes()}
    attacks = [
        'echo \'open("/tmp/pwned", "w")\' >> flows/flow.py',
        f"echo 'X = 2' >> flows/lib/{module.name}",
        "mv flows/flow.py flows/old.py",
        "rm -f flows/flow.py",
        "mv flows gone && mkdir flows && echo 'print(1)' > flows/flow.py",
        "mv flows/lib flows/lib2 && mkdir flows/lib",
        f"mkdir -p flows/lib/__pycache__ && echo x > flows/lib/__pycache__/{module.stem}.cpython-311.pyc",
    ]
    for command in attacks:
        result = await Shell(root).run(command)
        assert result.exit_code != 0, (command, result.output)
    assert {flow: flow.read_bytes(), module: module.read_bytes()} == before
    assert not (root / "gone").exists() and not (root / "flows" / "lib2").exists()
    assert list((root / "flows" / "lib" / "__pycache__").iterdir()) == []
    # everything else of the root stays the tools' to change
    assert (await Shell(root).run("echo ok > flows/notes.txt && mkdir flows/new")).exit_code == 0


@pytest.fixture
def held(root: Path) -> Iterator[Root]:
    with Root(root) as opened:
        yield opened


def test_file_tools_refuse_the_database_by_any_name(root: Path, held: Root) -> None:
    (root / "alias").symlink_to(".")
    for given in (
        "smithers.db",
        "smithers.db-wal",
        "./alias/smithers.db",
        str(root / "smithers.db"),
    ):
        with pytest.raises(PathProtected):
            read_file(held, given)
        with pytest.raises(PathProtected):
            write_file(held, given, "forged")
    with pytest.raises(PathProtected):
        write_file(held, "smithers.db-journal", "forged journal")
    assert not (root / "smithers.db-journal").exists()
    listed = glob_paths(held, "**").paths
    assert listed and not [p for p in listed if "smithers.db" in p]
    assert grep_files(held, "PRIVATE-INPUT").matches == []


def test_file_tools_refuse_to_change_the_code_the_server_runs(root: Path, held: Root) -> None:
    module = _module_of(root).relative_to(root)
    cases = [
        ("flows/flow.py", "print('pwned')"),
        (str(module), "X = 2"),
        (f"flows/lib/__pycache__/{module.stem}.cpython-311.pyc", "bytecode"),
        ("alias/flows/flow.py", "print('pwned')"),
    ]
    (root / "alias").symlink_to(".")
    for given, content in cases:
        with pytest.raises(PathProtected) as refused:
            write_file(held, given, content)
        assert refused.value.code == "PATH_PROTECTED"
    with pytest.raises(PathProtected):
        edit_file(held, "flows/flow.py", "import sys", "import os")
    assert read_file(held, "flows/flow.py").lines > 3  # reading the code is fine
    assert write_file(held, "flows/other.py", "x = 1").bytes == 5


@pytest.fixture
def env_root() -> Path:
    """The folder that holds this test run's Python environment (a project with its .venv
    inside, as ``uv run`` makes it): the root of a server started in the project."""
    prefix = Path(os.path.realpath(sys.prefix))
    if prefix == Path(os.path.realpath(sys.base_prefix)):
        pytest.skip("the tests do not run in a virtual environment")
    return prefix.parent


async def test_the_python_environment_is_read_only_inside_the_root(env_root: Path) -> None:
    prefix = Path(os.path.realpath(sys.prefix))
    site = next(Path(prefix).glob("lib/python3*/site-packages"))
    name = f"zz_smithers_{uuid.uuid4().hex[:8]}.pth"
    try:
        result = await Shell(env_root).run(
            f"echo 'import os' > {site / name}; echo rc=$?; touch {prefix}/bin/{name}"
        )
        assert "rc=0" not in result.output
        with Root(env_root) as held, pytest.raises(PathProtected):
            write_file(held, str((site / name).relative_to(env_root)), "import os")
    finally:
        for leftover in (site / name, prefix / "bin" / name):
            leftover.unlink(missing_ok=True)
    assert not (site / name).exists()
