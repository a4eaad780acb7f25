"""Transformers of nested values: JSON text, arrays and structs."""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from sparklec.ir.transformers.base import Op, Schema, param, require_strings
from sparklec.ir.values import SCALAR_TYPES, Column, array_element, normalize_type, split_top_level, struct_fields

_JSON_PATH = re.compile(r"\$((\.[A-Za-z_][A-Za-z0-9_]*)|(\[\d+\]))*")


def as_json_path(value: object) -> str:
    """A JSON path of keys and indexes (``$.user.emails[0]``), the part every engine reads alike."""
    if isinstance(value, str) and _JSON_PATH.fullmatch(value):
        return value
    raise ValueError(f"expected a JSON path such as '$.user.id' or '$.items[0].sku', got {value!r}")


def as_json_schema(value: object) -> tuple[Column, ...]:
    """Fields from ``{field: type}``, from ``[{name, type}]`` or from a DDL string ``"id BIGINT, name STRING"``."""
    pairs: list[tuple[object, object]] = []
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple)) and all(isinstance(f, Mapping) and set(f) == {"name", "type"} for f in value):
        pairs = [(f["name"], f["type"]) for f in value]
    elif isinstance(value, str):
        pairs = [(name, kind) for name, _, kind in (p.strip().partition(" ") for p in split_top_level(value))]
    fields = []
    for name, kind in pairs:
        normal = normalize_type(kind) if isinstance(kind, str) else None
        if not isinstance(name, str) or not name or normal is None or \
                normal not in SCALAR_TYPES and not normal.startswith("decimal"):
            raise ValueError(f"expected a field name and a scalar type (string, bigint, double, date, ...), "
                             f"got {name!r}: {kind!r}")
        fields.append(Column(name=name, type=normal))
    if not fields or len({f.name for f in fields}) != len(fields):
        raise ValueError("expected a schema of distinct fields, such as {\"id\": \"bigint\", \"name\": \"string\"}")
    return tuple(fields)


@attrs.frozen(kw_only=True)
class ExtractJsonField(Op):
    """Add `target_column`: the value at `json_path` in the JSON text `json_column`, as text (objects and arrays
    as JSON text; NULL where the text is not JSON or the path is missing)."""

    NAME = "extract_json_field"
    json_column: str = param(aliases=("column",))
    json_path: str = param(aliases=("path",), convert=as_json_path)
    target_column: str = param()

    def columns_read(self) -> tuple[str, ...]:
        return (self.json_column,)

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.target_column, type="string"),)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_strings(columns, (self.json_column,), self.NAME)


@attrs.frozen(kw_only=True)
class ParseJsonColumn(Op):
    """Add one column per field of `schema`, read from the JSON text `json_column` and typed (NULL where the text
    is not JSON, the field is missing or its value does not fit the type); `drop_source` drops `json_column`.
    The schema is required: Sparkle's PySpark infers it from the first row, which no compiled SQL can."""

    NAME = "parse_json_column"
    json_column: str = param(aliases=("column",))
    schema: tuple[Column, ...] = param(convert=as_json_schema)
    drop_source: bool = param(False)

    def columns_read(self) -> tuple[str, ...]:
        return (self.json_column,)

    def columns_added(self, columns: Schema) -> Schema:
        return self.schema

    def columns_removed(self) -> tuple[str, ...]:
        return (self.json_column,) if self.drop_source else ()

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_strings(columns, (self.json_column,), self.NAME)


def require_array(columns: Mapping[str, Column], name: str, op: str) -> list[tuple[str, str]]:
    column = columns.get(name)
    if column and column.type and array_element(column.type) is None:
        return [(name, f"`{op}` needs an array column, but `{name}` is {column.type}")]
    return []


@attrs.frozen(kw_only=True)
class ExplodeArrayColumn(Op):
    """One row per element of the array `array_column`, the element in `exploded_column_name` (and its position
    from 0 in ``<name>_position`` with `keep_position`); a row whose array is NULL or empty stays, with NULLs.
    (Sparkle's PySpark drops those rows when it keeps positions.)"""

    NAME = "explode_array_column"
    CHANGES_GRAIN = True
    array_column: str = param(aliases=("column",))
    exploded_column_name: str | None = param(None, aliases=("target_column",))
    keep_position: bool = param(False)

    @property
    def item_column(self) -> str:
        return self.exploded_column_name or f"{self.array_column}_item"

    def columns_read(self) -> tuple[str, ...]:
        return (self.array_column,)

    def columns_removed(self) -> tuple[str, ...]:
        return (self.array_column,)

    def columns_added(self, columns: Schema) -> Schema:
        source = next((c for c in columns if c.name == self.array_column), None)
        item = Column(name=self.item_column, type=array_element(source.type if source else None))
        position = (Column(name=f"{self.item_column}_position", type="int", nullable=True),)
        return (*(position if self.keep_position else ()), item)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_array(columns, self.array_column, self.NAME)


@attrs.frozen(kw_only=True)
class FlattenStructColumn(Op):
    """One column ``<struct_column><separator><field>`` per field of the struct `struct_column` (its type must
    be declared); `drop_source` drops the struct."""

    NAME = "flatten_struct_column"
    struct_column: str = param(aliases=("column",))
    separator: str = param("_")
    drop_source: bool = param(True)

    def columns_read(self) -> tuple[str, ...]:
        return (self.struct_column,)

    def fields(self, columns: Schema) -> tuple[tuple[str, str], ...]:
        source = next((c for c in columns if c.name == self.struct_column), None)
        return struct_fields(source.type if source else None) or ()

    def columns_added(self, columns: Schema) -> Schema:
        return tuple(Column(name=f"{self.struct_column}{self.separator}{field}", type=kind)
                     for field, kind in self.fields(columns))

    def columns_removed(self) -> tuple[str, ...]:
        return (self.struct_column,) if self.drop_source else ()

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        column = columns.get(self.struct_column)
        if column and struct_fields(column.type) is None:
            return [(column.name, f"`{self.NAME}` needs the struct type of `{column.name}` "
                                  f"({column.type or 'not declared'}); declare it as struct<field:type,...>")]
        return []


@attrs.frozen(kw_only=True)
class DeduplicateArrayColumn(Op):
    """The array `column` with each element kept once, at its first position (NULL kept once, too)."""

    NAME = "deduplicate_array_column"
    column: str = param()

    def columns_read(self) -> tuple[str, ...]:
        return (self.column,)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_array(columns, self.column, self.NAME)


@attrs.frozen(kw_only=True)
class RemoveEmptyArrays(Op):
    """NULL where the array `column` is empty."""

    NAME = "remove_empty_arrays"
    column: str = param()

    def columns_read(self) -> tuple[str, ...]:
        return (self.column,)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_array(columns, self.column, self.NAME)
