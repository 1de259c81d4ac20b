"""Output tables derived from msgspec Structs: one table per output type.

``OutputA`` → ``output_a`` (or the Struct's ``table`` class attribute). Columns: ``run_id``,
``node_id``, ``iteration`` (the primary key) and one per field: ``int``/``bool`` → INTEGER,
``float`` → REAL, ``str``/enums/literals → TEXT, anything else → JSON text. Untyped outputs go
to ``_smithers_outputs.payload_json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import inspect as mi
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    inspect,
)

from smithers.errors import InvalidOutput, WorkflowLoadError
from smithers.store.schema import node_key

__all__ = ["OutputTable", "encode_untyped", "output_table_for", "table_name_for"]

KEY_COLUMNS = ("run_id", "node_id", "iteration")
_SQL_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def table_name_for(struct_type: type[msgspec.Struct]) -> str:
    """``OutputA`` → ``output_a``, unless the Struct names its table with ``table = "..."``."""
    explicit = getattr(struct_type, "table", None)
    if isinstance(explicit, str):
        name = explicit
    else:
        name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", struct_type.__name__)
        name = name.lower()
    if not _SQL_NAME.match(name) or name.startswith("_smithers"):
        raise WorkflowLoadError(
            f"output table name {name!r} of {struct_type.__name__} is not usable"
        )
    return name


def _column_kind(info: mi.Type) -> str:
    if isinstance(info, mi.UnionType):
        members = [t for t in info.types if not isinstance(t, mi.NoneType)]
        if len(members) == 1:
            return _column_kind(members[0])
        return "json"
    if isinstance(info, mi.BoolType | mi.IntType):
        return "integer"
    if isinstance(info, mi.FloatType):
        return "real"
    if isinstance(info, mi.StrType | mi.LiteralType):
        return "text"
    if isinstance(info, mi.EnumType):
        return "text"
    return "json"


_SQL_TYPES: dict[str, Any] = {
    # BIGINT on PostgreSQL (Python ints are wider than int4); plain INTEGER on SQLite.
    "integer": lambda: BigInteger().with_variant(Integer(), "sqlite"),
    "real": Float,
    "text": Text,
    "json": Text,
}
_AFFINITY = {
    "integer": ("INT",),
    "real": ("REAL", "FLOA", "DOUB", "NUMERIC"),
    "text": ("TEXT", "CHAR", "CLOB"),
    "json": ("TEXT", "CHAR", "CLOB", "JSON"),
}


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    encode_name: str
    kind: str


@dataclass(frozen=True)
class OutputTable:
    """The table of one output Struct and how to write and read its rows."""

    name: str
    struct_type: type[msgspec.Struct]
    fields: tuple[_Field, ...]
    table: Table

    def encode_row(
        self, run_id: str, node_id: str, iteration: int, value: msgspec.Struct
    ) -> dict[str, Any]:
        """A row for ``value`` (already an instance of ``struct_type``)."""
        row: dict[str, Any] = {"run_id": run_id, "node_id": node_id, "iteration": iteration}
        builtins = msgspec.to_builtins(value)
        for field in self.fields:
            raw = builtins.get(field.encode_name)
            if field.kind == "json":
                row[field.name] = None if raw is None else msgspec.json.encode(raw).decode()
            elif field.kind == "integer" and isinstance(raw, bool):
                row[field.name] = int(raw)
            else:
                row[field.name] = raw
        return row

    def decode_row(self, row: dict[str, Any]) -> msgspec.Struct:
        """The Struct stored in ``row``."""
        data: dict[str, Any] = {}
        for field in self.fields:
            raw = row.get(field.name)
            if field.kind == "json" and isinstance(raw, str):
                raw = msgspec.json.decode(raw)
            data[field.encode_name] = raw
        return msgspec.convert(data, self.struct_type, strict=False)

    def ensure(self, conn: Connection, *, create: bool = True) -> None:
        """Create the table, or add missing columns; a conflicting column type fails loading."""
        inspector = inspect(conn)
        if not inspector.has_table(self.name):
            if create:
                self.table.create(conn)
            return
        existing = {c["name"]: str(c["type"]).upper() for c in inspector.get_columns(self.name)}
        for key in KEY_COLUMNS:
            if key not in existing:
                raise WorkflowLoadError(f"table {self.name!r} exists without a {key!r} column")
        for field in self.fields:
            found = existing.get(field.name)
            if found is None:
                column = Column(field.name, _SQL_TYPES[field.kind]())
                ddl = column.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(f'ALTER TABLE "{self.name}" ADD COLUMN "{field.name}" {ddl}')
            elif not _compatible(field.kind, found):
                raise WorkflowLoadError(
                    f"column {self.name}.{field.name} has type {found}, but "
                    f"{self.struct_type.__name__}.{field.name} needs {field.kind}"
                )


def _compatible(kind: str, sql_type: str) -> bool:
    return any(a in sql_type for a in _AFFINITY[kind])


_tables: dict[type[msgspec.Struct], OutputTable] = {}


def output_table_for(struct_type: type[msgspec.Struct]) -> OutputTable:
    """The ``OutputTable`` of a Struct type (memoised per type)."""
    known = _tables.get(struct_type)
    if known is not None:
        return known
    name = table_name_for(struct_type)
    info = mi.type_info(struct_type)
    assert isinstance(info, mi.StructType)
    fields = tuple(_Field(f.name, f.encode_name, _column_kind(f.type)) for f in info.fields)
    for field in fields:
        if field.name in KEY_COLUMNS:
            raise WorkflowLoadError(
                f"{struct_type.__name__}.{field.name} clashes with the output table's key columns"
            )
        if not _SQL_NAME.match(field.name):
            raise WorkflowLoadError(
                f"{struct_type.__name__}.{field.name} is not a usable column name"
            )
    table = Table(
        name, MetaData(), *node_key(), *(Column(f.name, _SQL_TYPES[f.kind]()) for f in fields)
    )
    made = OutputTable(name, struct_type, fields, table)
    if len(_tables) > 1024:
        _tables.clear()
    _tables[struct_type] = made
    return made


def encode_untyped(value: Any) -> str:
    """JSON text of an untyped output; raises ``InvalidOutput`` if it is not JSON-encodable."""
    try:
        return msgspec.json.encode(value).decode()
    except (TypeError, msgspec.EncodeError, OverflowError) as exc:
        raise InvalidOutput(f"output is not JSON-serializable: {exc}") from exc
