"""Typed outputs decoded from the stored description of their Structs (never with the Structs
themselves) give exactly the JSON the Structs give: rows written to a real database, read back
and decoded both ways, compared byte for byte."""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from typing import Annotated, Any, Literal

import msgspec
from sqlalchemy import text

from smithers.engine import events as ev
from smithers.store.batch import Batch, TypedOutput
from smithers.store.output_decoders import as_stored, decoders_of, output_value
from smithers.store.output_schema import describe_outputs
from smithers.store.outputs import output_table_for
from smithers.store.store import Store
from tests.store.helpers import run_row


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Perm(enum.IntFlag):
    READ = 4
    WRITE = 2


class Inner(msgspec.Struct, omit_defaults=True):
    name: str
    weight: float = 1.0
    tags: list[str] = []
    level: Level = Level.LOW
    pick: Literal[1, 2] | None = None


class Cat(msgspec.Struct, tag="cat"):
    lives: int = 9


class Dog(msgspec.Struct, tag="dog"):
    good: bool = True


class Tree(msgspec.Struct):
    value: int
    children: list[Tree] = []


class Plain(msgspec.Struct):
    ok: bool
    count: int
    ratio: float
    title: str
    maybe: int | None = None
    flag: bool | None = None


class Rich(msgspec.Struct, rename="camel"):
    created_at: datetime.datetime
    day: datetime.date
    span: datetime.timedelta
    ident: uuid.UUID
    amount: decimal.Decimal
    blob: bytes
    color: Color
    perms: list[Perm]  # an int in a TEXT column: PostgreSQL refuses it, SQLite keeps "6"
    choice: Literal["a", "b"]
    inner: Inner
    pets: list[Cat | Dog]
    by_name: dict[str, Inner]
    pair: tuple[int, str]
    many: tuple[int, ...]
    unique: frozenset[int]
    positive: Annotated[int, msgspec.Meta(ge=0)]
    tree: Tree
    anything: Any
    either: int | str
    at: datetime.time | None = None


class Defaults(msgspec.Struct, tag=True, kw_only=True):
    table = "with_defaults"
    required: str
    a: int = 0
    b: str = ""
    c: list[int] = []
    d: dict[str, int] = {}
    e: Color = Color.RED
    f: float = 0.5
    h: list[int] = msgspec.field(default_factory=lambda: [1, 2])
    when: datetime.datetime = datetime.datetime(2020, 1, 1)


class Omitting(msgspec.Struct, omit_defaults=True):
    """A field equal to its default is stored empty (``encode_row`` reads ``to_builtins``):
    such a row no longer decodes, with the Struct or with its description."""

    a: int = 0
    b: list[str] = []
    g: int | msgspec.UnsetType = msgspec.UNSET


def _inner(name: str, **kw: Any) -> Inner:
    return Inner(name=name, **kw)


VALUES: list[msgspec.Struct] = [
    Plain(ok=True, count=3, ratio=0.25, title="t"),
    Plain(ok=False, count=-(2**40), ratio=1.0, title="", maybe=7, flag=False),
    Rich(
        created_at=datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.UTC),
        day=datetime.date(2024, 2, 29),
        span=datetime.timedelta(hours=3, microseconds=5),
        ident=uuid.UUID(int=12345),
        amount=decimal.Decimal("12.3400"),
        blob=b"\x00\xffbytes",
        color=Color.BLUE,
        perms=[Perm.READ | Perm.WRITE, Perm.READ],
        choice="b",
        inner=_inner("x", weight=2.5, tags=["p", "q"], level=Level.HIGH, pick=2),
        pets=[Cat(), Dog(good=False), Cat(lives=3)],
        by_name={"k": _inner("k"), "m": _inner("m", weight=1.0)},
        pair=(1, "one"),
        many=(3, 2, 1),
        unique=frozenset({5, 1, 3}),
        positive=4,
        tree=Tree(1, [Tree(2), Tree(3, [Tree(4)])]),
        anything={"free": [1, "form", None, True]},
        either="word",
        at=datetime.time(23, 59, 1),
    ),
    Defaults(required="r"),
    Defaults(required="r", a=5, b="x", c=[1], d={"z": 1}, e=Color.BLUE, f=0.5, h=[]),
    Omitting(a=1, b=["x"], g=2),
    Omitting(),
]
AS_STORED = 1  # the last value: no way to decode it


def _reference(struct_type: type[msgspec.Struct], row: dict[str, Any]) -> Any:
    """What reads gave before: the row decoded with the workflow's own Struct."""
    try:
        return msgspec.to_builtins(output_table_for(struct_type).decode_row(row))
    except (msgspec.ValidationError, msgspec.DecodeError):
        return as_stored(row)


async def _stored_rows(store: Store, values: list[msgspec.Struct]) -> list[dict[str, Any]]:
    """Each value written as a node's output, and its row read back from its table."""
    await store.create_run(run_row("r"), Batch(events=[ev.RunStarted(run_id="r", timestamp_ms=1)]))
    batch = Batch()
    for i, value in enumerate(values):
        table = output_table_for(type(value))
        batch.write(TypedOutput(table, table.encode_row("r", f"n{i}", 0, value)))
    await store.commit("r", batch)
    rows = []
    for i, value in enumerate(values):
        name = output_table_for(type(value)).name
        query = text(f"SELECT * FROM \"{name}\" WHERE run_id = 'r' AND node_id = :n")
        [row] = await store.db.fetch_all(query, {"n": f"n{i}"})
        rows.append(row)
    return rows


async def test_decoded_as_the_structs_themselves_decode(db_url: str) -> None:
    described = describe_outputs([Plain, Rich, Defaults, Omitting, Inner, Tree])
    decoders = decoders_of(described)
    assert set(decoders) == {"plain", "rich", "with_defaults", "omitting", "inner", "tree"}
    async with Store.opened(db_url) as store:
        rows = await _stored_rows(store, VALUES)
    for number, (value, row) in enumerate(zip(VALUES, rows, strict=True)):
        struct_type = type(value)
        expected = _reference(struct_type, row)
        encoded = msgspec.json.encode(expected)
        decodes = number < len(VALUES) - AS_STORED
        assert decodes == (encoded != msgspec.json.encode(as_stored(row))), value
        got = output_value(decoders[output_table_for(struct_type).name], row)
        assert msgspec.json.encode(got) == encoded
    assert msgspec.json.encode(output_value(decoders["plain"], rows[0])) == (
        b'{"ok":true,"count":3,"ratio":0.25,"title":"t","maybe":null,"flag":null}'
    )
    assert msgspec.json.encode(output_value(decoders["with_defaults"], rows[3])) == (
        b'{"type":"Defaults","required":"r","a":0,"b":"","c":[],"d":{},"e":"red","f":0.5,'
        b'"h":[1,2],"when":"2020-01-01T00:00:00"}'
    )
    omitting = output_value(decoders["omitting"], rows[5])
    assert msgspec.json.encode(omitting) == b'{"a":1,"b":["x"],"g":2}'


async def test_rows_that_no_longer_fit_are_given_as_stored(db_url: str) -> None:
    """A row an earlier version of the Struct wrote (a column it did not have is empty)."""

    class Report(msgspec.Struct):
        title: str

    class ReportV2(msgspec.Struct):
        table = "report"
        title: str
        pages: int

    async with Store.opened(db_url) as store:
        await store.ensure_output_table(output_table_for(ReportV2))
        [row] = await _stored_rows(store, [Report("old")])
    decoder = decoders_of(describe_outputs([ReportV2]))["report"]
    assert (
        output_value(decoder, row) == _reference(ReportV2, row) == {"title": "old", "pages": None}
    )


def test_no_description_or_an_unreadable_one_decodes_nothing() -> None:
    assert decoders_of(None) == {} and decoders_of("") == {}
    assert decoders_of('{"format": 1, "tables": ') == {}
    assert decoders_of('{"format": 99, "tables": {}, "structs": {}}') == {}
    row = {"run_id": "r", "node_id": "n", "iteration": 0, "ok": 1}
    assert output_value(None, row) == {"ok": 1}


def test_a_struct_unusable_as_an_output_is_not_described() -> None:
    class Clashing(msgspec.Struct):
        iteration: int

    class Fine(msgspec.Struct):
        x: int

    assert set(decoders_of(describe_outputs([Clashing, Fine]))) == {"fine"}


def test_the_description_is_plain_json_naming_no_module() -> None:
    """Nothing in it names code to import: types are kinds, Structs and enums their fields
    and values."""
    described = describe_outputs([Plain, Rich])
    assert __name__ not in described and "tests." not in described
    document = msgspec.json.decode(described)
    assert document["format"] == 1 and set(document["tables"]) == {"plain", "rich"}
    assert document["tables"]["rich"]["kinds"]["created_at"] == "json"
