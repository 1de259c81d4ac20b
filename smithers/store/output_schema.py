"""What is stored of a workflow's output types, so that reads never import the workflow.

When the engine loads a workflow to execute a run (start, resume, take-over), each output
Struct of the module is described in plain JSON: its table, each column's kind, and its type
as ``msgspec.inspect`` sees it (fields, encode names, defaults, constraints, nested Structs,
enums, literals, unions, tags). ``smithers.store.output_decoders`` rebuilds equivalent types
from built-in and msgspec types only, so a read decodes a row exactly as the workflow's own
Struct would, with no code of the workflow run. Types msgspec cannot describe as data
(custom classes, dataclasses, TypedDicts, named tuples, a Struct nested in itself) are
described as ``any``: their stored JSON is given as it is.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from msgspec import inspect as mi

from smithers.errors import WorkflowLoadError
from smithers.store.outputs import output_table_for

__all__ = [
    "FORMAT",
    "FieldSpec",
    "OutputSchemas",
    "StructSpec",
    "TableSpec",
    "TypeSpec",
    "describe_outputs",
]

log = logging.getLogger(__name__)

FORMAT = 1
"""The version of the stored description; a reader ignores one it does not know."""


class TypeSpec(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """One type: its kind, its arguments (members, items, key and value), its constraints."""

    kind: str
    args: list[TypeSpec] = []
    meta: dict[str, Any] = {}
    """``msgspec.Meta`` constraints: ``ge``, ``min_length``, ``pattern``, ``tz``…"""
    values: list[Any] = []
    """A literal's values, an enum's member values."""
    ref: str | None = None
    """A Struct's key in ``OutputSchemas.structs``; an enum's base (``int``, ``str``, ``flag``…)."""


class FieldSpec(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """A Struct field: its attribute name, its name in JSON, its type and its default."""

    name: str
    key: str
    type: TypeSpec
    default: str = "none"
    """``none`` (required), ``value``, ``unset``, ``opaque`` (not representable), or the
    factory ``list``, ``dict``, ``set``, ``frozenset``, ``bytearray``, ``made`` (``value`` then
    holds what the factory made)."""
    value: Any = None


class StructSpec(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """A Struct type and the configuration that shapes its JSON."""

    name: str
    fields: list[FieldSpec]
    tag_field: str | None = None
    tag: str | int | None = None
    omit_defaults: bool = False
    forbid_unknown_fields: bool = False
    array_like: bool = False


class TableSpec(msgspec.Struct, forbid_unknown_fields=True):
    """An output table: the Struct its rows decode to and each field's column kind."""

    struct: str
    kinds: dict[str, str]


class OutputSchemas(msgspec.Struct, forbid_unknown_fields=True):
    """The stored description of a workflow's output types."""

    format: int
    tables: dict[str, TableSpec]
    structs: dict[str, StructSpec]


_SCALARS: dict[type[mi.Type], str] = {
    mi.AnyType: "any",
    mi.NoneType: "none",
    mi.BoolType: "bool",
    mi.IntType: "int",
    mi.FloatType: "float",
    mi.StrType: "str",
    mi.BytesType: "bytes",
    mi.ByteArrayType: "bytearray",
    mi.DateTimeType: "datetime",
    mi.TimeType: "time",
    mi.DateType: "date",
    mi.TimeDeltaType: "timedelta",
    mi.UUIDType: "uuid",
    mi.DecimalType: "decimal",
}
_COLLECTIONS: dict[type[mi.Type], str] = {
    mi.ListType: "list",
    mi.SetType: "set",
    mi.FrozenSetType: "frozenset",
    mi.VarTupleType: "vartuple",
}
_CONSTRAINTS = ("gt", "ge", "lt", "le", "multiple_of", "min_length", "max_length", "pattern", "tz")
_FACTORIES: dict[Any, str] = {
    list: "list",
    dict: "dict",
    set: "set",
    frozenset: "frozenset",
    bytearray: "bytearray",
}


class _Describer:
    """Walks type infos; each Struct is described once, under a key of its own."""

    def __init__(self) -> None:
        self.structs: dict[str, StructSpec] = {}
        self._keys: dict[type, str] = {}
        self._open: set[type] = set()

    def struct(self, info: mi.StructType) -> str | None:
        """The key of the Struct's description; ``None`` while it is being described (a
        Struct nested in itself is described as ``any`` there)."""
        cls = info.cls
        if cls in self._open:
            return None
        known = self._keys.get(cls)
        if known is not None:
            return known
        key = cls.__qualname__
        while key in self._keys.values():  # Structs of one name from different modules
            key += "'"
        self._keys[cls] = key
        self._open.add(cls)
        try:
            spec = StructSpec(
                name=cls.__name__,
                fields=[self.field(f) for f in info.fields],
                tag_field=info.tag_field,
                tag=info.tag,
                omit_defaults=cls.__struct_config__.omit_defaults,
                forbid_unknown_fields=info.forbid_unknown_fields,
                array_like=info.array_like,
            )
        except BaseException:
            del self._keys[cls]  # nothing may refer to a Struct left undescribed
            raise
        finally:
            self._open.discard(cls)
        self.structs[key] = spec
        return key

    def field(self, info: mi.Field) -> FieldSpec:
        spec = FieldSpec(info.name, info.encode_name, self.type(info.type))
        if info.required:
            return spec
        if info.default_factory is not msgspec.NODEFAULT:
            factory = _FACTORIES.get(info.default_factory)
            if factory is not None:
                spec.default = factory
                return spec
            return _with_value(spec, "made", info.default_factory)
        if info.default is msgspec.NODEFAULT:
            spec.default = "unset"
            return spec
        return _with_value(spec, "value", lambda: info.default)

    def type(self, info: mi.Type) -> TypeSpec:
        if isinstance(info, mi.Metadata):
            return self.type(info.type)
        meta = {
            name: getattr(info, name)
            for name in _CONSTRAINTS
            if getattr(info, name, None) is not None
        }
        scalar = _SCALARS.get(type(info))
        if scalar is not None:
            return TypeSpec(scalar, meta=meta)
        collection = _COLLECTIONS.get(type(info))
        if collection is not None:
            assert isinstance(info, mi.CollectionType)
            return TypeSpec(collection, [self.type(info.item_type)], meta)
        if isinstance(info, mi.TupleType):
            return TypeSpec("tuple", [self.type(t) for t in info.item_types])
        if isinstance(info, mi.DictType | mi.FrozenDictType):
            return TypeSpec("dict", [self.type(info.key_type), self.type(info.value_type)], meta)
        if isinstance(info, mi.UnionType):
            return TypeSpec("union", [self.type(t) for t in info.types])
        if isinstance(info, mi.LiteralType):
            return TypeSpec("literal", values=list(info.values))
        if isinstance(info, mi.EnumType):
            return _enum(info.cls)
        if isinstance(info, mi.StructType):
            key = self.struct(info)
            return TypeSpec("any") if key is None else TypeSpec("struct", ref=key)
        return TypeSpec("any")  # custom classes, dataclasses, TypedDicts, named tuples…


def _with_value(spec: FieldSpec, default: str, make: Callable[[], Any]) -> FieldSpec:
    try:
        value = msgspec.to_builtins(make())
        msgspec.json.encode(value)  # what is stored must be JSON
        spec.value, spec.default = value, default
    except Exception:  # a default JSON cannot hold, or a factory that fails
        spec.default = "opaque"
    return spec


_ENUM_BASES = ((enum.IntFlag, "intflag"), (enum.Flag, "flag"), (int, "int"), (str, "str"))


def _enum(cls: type[enum.Enum]) -> TypeSpec:
    values = [member.value for member in cls]
    if not all(isinstance(v, int | str) for v in values):
        return TypeSpec("any")
    base = next((name for kind, name in _ENUM_BASES if issubclass(cls, kind)), "plain")
    return TypeSpec("enum", values=values, ref=base)


def _document(struct_types: Sequence[type[msgspec.Struct]]) -> OutputSchemas:
    describer = _Describer()
    tables: dict[str, TableSpec] = {}
    for struct_type in struct_types:
        try:
            table = output_table_for(struct_type)
        except WorkflowLoadError:
            continue  # not usable as an output type (e.g. a nested helper Struct)
        try:
            info = mi.type_info(struct_type)
            assert isinstance(info, mi.StructType)
            key = describer.struct(info)
        except Exception as exc:  # never fails a start: its rows are then read as stored
            log.warning("%s cannot be described for reads (%r)", struct_type.__name__, exc)
            continue
        assert key is not None
        tables[table.name] = TableSpec(key, {f.name: f.kind for f in table.fields})
    return OutputSchemas(FORMAT, tables, describer.structs)


_described: dict[tuple[type[msgspec.Struct], ...], str] = {}


def describe_outputs(struct_types: Sequence[type[msgspec.Struct]]) -> str:
    """The JSON description of the output types among ``struct_types`` (memoised)."""
    key = tuple(struct_types)
    known = _described.get(key)
    if known is not None:
        return known
    text = msgspec.json.encode(_document(key)).decode()
    if len(_described) > 256:
        _described.clear()
    _described[key] = text
    return text
