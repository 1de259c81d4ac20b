"""Both clients' methods come from one call table: the same names, parameters, defaults and
docstrings, as docs/client.md lists them; blocking on ``Client``, coroutines on
``AsyncClient``; and typed so (mypy on code that uses them)."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from smithers.client import AsyncClient, Client

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "client.md"
OWN = {"close", "aclose"}


def _documented() -> dict[str, str]:
    """``name -> name(params…)`` of each row of the methods table."""
    rows = re.findall(r"^\| `((\w+)\(.*?\))` \|", DOC.read_text(), flags=re.M)
    return {name: text for text, name in rows}


def _shown(method: object) -> str:
    """A method as the table writes it: parameters with their defaults, ``*`` before the
    keyword-only ones, without ``self`` and annotations."""
    parts: list[str] = []
    keyword_only = False
    for parameter in inspect.signature(method).parameters.values():  # type: ignore[arg-type]
        if parameter.kind is parameter.KEYWORD_ONLY and not keyword_only:
            parts.append("*")
            keyword_only = True
        default = parameter.default
        parts.append(parameter.name + ("" if default is parameter.empty else f"={default!r}"))
    return f"{method.__name__}({', '.join(parts)})"  # type: ignore[attr-defined]


def _public(kind: type) -> set[str]:
    return {name for name in dir(kind) if not name.startswith("_") and name != "timeout"} - OWN


def test_the_documented_methods_are_the_methods_of_both_clients() -> None:
    documented = _documented()
    assert len(documented) == 18
    for kind in (Client, AsyncClient):
        assert _public(kind) == set(documented), kind
        for name, text in documented.items():
            bound = getattr(kind(), name)
            assert _shown(bound) == text, (kind, name)


@pytest.mark.parametrize("name", sorted(set(_documented()) - {"events"}))
def test_each_route_method_is_one_real_method_on_each_client(name: str) -> None:
    sync, awaiting = getattr(Client, name), getattr(AsyncClient, name)
    assert inspect.isfunction(sync) and inspect.isfunction(awaiting)
    assert not inspect.iscoroutinefunction(sync)
    assert inspect.iscoroutinefunction(awaiting)
    assert inspect.iscoroutinefunction(getattr(AsyncClient(), name))
    assert (sync.__qualname__, awaiting.__qualname__) == (f"Client.{name}", f"AsyncClient.{name}")
    assert sync.__doc__ and sync.__doc__ == awaiting.__doc__
    assert inspect.signature(sync) == inspect.signature(awaiting)
    assert next(iter(inspect.signature(sync).parameters)) == "self"
    assert inspect.signature(sync).return_annotation is not inspect.Signature.empty


USES = """
    from collections.abc import Coroutine
    from typing import Any, assert_type

    from smithers.client import AsyncClient, Client, Decision, PendingApproval, RunRef

    def blocking(client: Client) -> None:
        assert_type(client.start_run("wf.py", {"a": 1}, run_id="r", max_concurrency=2), RunRef)
        assert_type(client.approve("r", "gate", iteration=1, note="ok"), Decision)
        assert_type(client.list_approvals(), list[PendingApproval])
        assert_type(client.run_input("r"), Any)
        assert_type(Client.cancel_run(client, "r"), RunRef)
        assert_type(client.metrics(), str)

    async def awaiting(client: AsyncClient) -> None:
        assert_type(await client.start_run("wf.py", resume=True, run_id="r"), RunRef)
        pending = client.deny("r", "gate")
        _ = assert_type(pending, Coroutine[Any, Any, Decision])
        assert_type(await pending, Decision)

    async def mistaken(client: Client, aclient: AsyncClient) -> None:
        client.start_run("wf.py", runid="r")
        client.get_run(3)
        await aclient.signal("r", "go", {}, "c-1")
"""


def test_mypy_sees_each_method_typed_as_it_is_called(tmp_path: Path) -> None:
    uses = tmp_path / "uses.py"
    uses.write_text(textwrap.dedent(USES))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", f"--cache-dir={tmp_path / 'cache'}", str(uses)],
        capture_output=True,
        text=True,
        cwd=ROOT,  # the package is read from its source (it ships no py.typed marker)
    )
    errors = [
        line.split(": error: ")[1] for line in done.stdout.splitlines() if ": error: " in line
    ]
    assert errors == [
        'Unexpected keyword argument "runid"; did you mean "run_id"?  [call-arg]',
        'Argument 1 has incompatible type "int"; expected "str"  [arg-type]',
        "Too many positional arguments  [call-arg]",
    ], done.stdout
