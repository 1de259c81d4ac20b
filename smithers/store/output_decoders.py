"""Typed outputs as reads give them, decoded without the workflow's code.

A read (``GET /v1/runs/{runId}/nodes``) never imports a workflow file: it decodes a row of an
output table with types rebuilt from the description stored when the run started
(``smithers.store.output_schema``), from built-in and msgspec types only, exactly as the
workflow's own Struct decodes it (``OutputTable.decode_row``, then ``msgspec.to_builtins``).
A run stored before descriptions were (nothing stored), a table the description does not
name, or a row that no longer fits it, gives the row's columns as stored.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, cast

import msgspec
from msgspec import inspect as mi
from sqlalchemy import bindparam, select

from smithers.store import schema as s
from smithers.store.db import Database, Row, Transaction
from smithers.store.output_schema import FORMAT, FieldSpec, OutputSchemas, TableSpec, TypeSpec
from smithers.store.outputs import KEY_COLUMNS

__all__ = ["OutputDecoder", "as_stored", "decoders_of", "output_value", "stored_decoders"]

log = logging.getLogger(__name__)

_SIMPLE: dict[str, Any] = {
    "any": Any,
    "none": None,
    "bool": bool,
    "int": int,
    "float": float,
    "str": str,
    "bytes": bytes,
    "bytearray": bytearray,
    "datetime": datetime.datetime,
    "time": datetime.time,
    "date": datetime.date,
    "timedelta": datetime.timedelta,
    "uuid": uuid.UUID,
    "decimal": decimal.Decimal,
}
_ENUMS: dict[str, Any] = {
    "intflag": enum.IntFlag,
    "flag": enum.Flag,
    "int": enum.IntEnum,
    "str": enum.StrEnum,
    "plain": enum.Enum,
}
_FACTORIES: dict[str, Callable[[], Any]] = {
    "list": list,
    "dict": dict,
    "set": set,
    "frozenset": frozenset,
    "bytearray": bytearray,
}


@dataclass(frozen=True, slots=True)
class OutputDecoder:
    """How the rows of one output table decode: the rebuilt Struct and each field's column."""

    struct_type: type[msgspec.Struct]
    columns: tuple[tuple[str, str, bool], ...]
    """(column, name in JSON, whether the column holds JSON text), in field order."""

    def decode_row(self, row: Row) -> Any:
        """The row as JSON values; raises ``msgspec.ValidationError`` or ``DecodeError``."""
        data: dict[str, Any] = {}
        for column, key, is_json in self.columns:
            raw = row.get(column)
            if is_json and isinstance(raw, str):
                raw = msgspec.json.decode(raw)
            data[key] = raw
        return msgspec.to_builtins(msgspec.convert(data, self.struct_type, strict=False))


def as_stored(row: Row) -> dict[str, Any]:
    """A typed row's columns as stored, without the key columns."""
    return {k: v for k, v in row.items() if k not in KEY_COLUMNS}


def output_value(decoder: OutputDecoder | None, row: Row) -> Any:
    """A typed row as reads give it: decoded, else its columns as stored."""
    if decoder is not None:
        try:
            return decoder.decode_row(row)
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass  # the row does not fit the Struct (written by another version of it)
    return as_stored(row)


class _Builder:
    """Rebuilds the types of one stored description (each Struct once)."""

    def __init__(self, schemas: OutputSchemas) -> None:
        self.schemas = schemas
        self.built: dict[str, Any] = {}

    def table(self, table: TableSpec) -> OutputDecoder:
        struct_type = self.struct(table.struct)
        mi.type_info(struct_type)  # a type msgspec refuses fails here, not on each read
        spec = self.schemas.structs[table.struct]
        columns = tuple((f.name, f.key, table.kinds.get(f.name) == "json") for f in spec.fields)
        return OutputDecoder(struct_type, columns)

    def struct(self, key: str) -> Any:
        known = self.built.get(key)
        if known is not None:
            return known
        spec = self.schemas.structs[key]
        self.built[key] = Any  # a Struct nested in itself (never described so): as stored
        try:
            made = msgspec.defstruct(
                spec.name,
                [self.field(f) for f in spec.fields],
                kw_only=True,  # the stored order, whatever the defaults
                rename={f.name: f.key for f in spec.fields},
                tag_field=spec.tag_field,
                tag=spec.tag,
                omit_defaults=spec.omit_defaults,
                forbid_unknown_fields=spec.forbid_unknown_fields,
                array_like=spec.array_like,
            )
        except BaseException:
            del self.built[key]
            raise
        self.built[key] = made
        return made

    def field(self, spec: FieldSpec) -> tuple[str, Any] | tuple[str, Any, Any]:
        kind = self.type(spec.type)
        if spec.default == "none":
            return (spec.name, kind)
        if spec.default == "unset":
            return (spec.name, Union[kind, msgspec.UnsetType], msgspec.UNSET)  # noqa: UP007
        builtin = _FACTORIES.get(spec.default)
        if builtin is not None:
            return (spec.name, kind, msgspec.field(default_factory=builtin))
        if spec.default == "value":
            value = _convert(spec.value, kind)
            if not isinstance(value, list | dict | set | bytearray):
                return (spec.name, kind, value)
        made = None if spec.default == "opaque" else spec.value
        return (spec.name, kind, msgspec.field(default_factory=lambda: _convert(made, kind)))

    def type(self, spec: TypeSpec) -> Any:
        kind, args = spec.kind, [self.type(a) for a in spec.args]
        built: Any
        if kind in _SIMPLE:
            built = _SIMPLE[kind]
        elif kind == "list":
            built = list[args[0]]  # type: ignore[valid-type]
        elif kind == "set":
            built = set[args[0]]  # type: ignore[valid-type]
        elif kind == "frozenset":
            built = frozenset[args[0]]  # type: ignore[valid-type]
        elif kind == "vartuple":
            built = tuple[args[0], ...]  # type: ignore[valid-type]
        elif kind == "tuple":
            built = cast(Any, tuple)[tuple(args)] if args else tuple[()]
        elif kind == "dict":
            built = dict[args[0], args[1]]  # type: ignore[valid-type]
        elif kind == "union":
            built = cast(Any, Union)[tuple(args)]
        elif kind == "literal":
            built = cast(Any, Literal)[tuple(spec.values)]
        elif kind == "enum":
            members = [(f"m{i}", v) for i, v in enumerate(spec.values)]
            built = _ENUMS[spec.ref or "plain"]("StoredEnum", members)
        elif kind == "struct" and spec.ref is not None:
            built = self.struct(spec.ref)
        else:
            built = Any  # a kind this version does not know: as stored
        return Annotated[built, msgspec.Meta(**spec.meta)] if spec.meta else built


def _convert(value: Any, kind: Any) -> Any:
    try:
        return msgspec.convert(value, kind, strict=False)
    except msgspec.ValidationError:
        return value


_KEPT = 64
_decoders: OrderedDict[str, dict[str, OutputDecoder]] = OrderedDict()


def decoders_of(text: str | None) -> dict[str, OutputDecoder]:
    """The decoder of each table a stored description names (memoised by its text); none
    for no description, or one this version cannot read."""
    if not text:
        return {}
    known = _decoders.get(text)
    if known is not None:
        _decoders.move_to_end(text)
        return known
    made: dict[str, OutputDecoder] = {}
    try:
        schemas = msgspec.json.decode(text, type=OutputSchemas)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        log.warning("a stored output description cannot be read (%s)", exc)
        schemas = OutputSchemas(FORMAT, {}, {})
    builder = _Builder(schemas)
    for name, table in schemas.tables.items() if schemas.format == FORMAT else ():
        try:
            made[name] = builder.table(table)
        except Exception as exc:  # a description no type can be rebuilt from: as stored
            log.warning("output table %s: its stored description is unusable (%r)", name, exc)
    _decoders[text] = made
    while len(_decoders) > _KEPT:
        _decoders.popitem(last=False)
    return made


_SCHEMAS = select(s.output_schemas.c.schemas_json).where(
    s.output_schemas.c.run_id == bindparam("run_id")
)


async def stored_decoders(db: Database | Transaction, run_id: str) -> dict[str, OutputDecoder]:
    """The decoders of the output tables of ``run_id``, from what its start stored."""
    row = await db.fetch_one(_SCHEMAS, {"run_id": run_id})
    return decoders_of(None if row is None else row["schemas_json"])
