"""Plain values that IR nodes carry: scalars, settings, durations and data types."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Union

import attrs

from sparklec.diagnostics import Span, span_field

Scalar = Union[str, int, float, bool, None]
"""A literal as it appears in configs and the DSL."""

Value = Union[Scalar, tuple["Value", ...]]
"""A scalar or a (possibly nested) list of values."""


@attrs.frozen(kw_only=True)
class Setting:
    """One key/value pair of a free-form option map (JDBC options, env vars, tags)."""

    key: str
    value: Value
    span: Span | None = span_field()


def by_key(settings: Iterable[Setting]) -> tuple[Setting, ...]:
    """`settings` sorted by key: the order a map is written in does not change the pipeline."""
    return tuple(sorted(settings, key=lambda setting: setting.key))


def settings_field() -> Any:
    """An attrs field holding a key/value map, kept sorted by key."""
    return attrs.field(default=(), converter=by_key)


_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int | None:
    """Seconds in a duration such as ``30s``, ``10m``, ``1h`` or ``2d``; None if malformed."""
    match = _DURATION.fullmatch(text.strip())
    if not match or match.group(2) == "ms":
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: int) -> str:
    """The shortest exact spelling of `seconds` as a duration."""
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


STRING_TYPES = frozenset({"string"})
INTEGER_TYPES = frozenset({"tinyint", "smallint", "int", "bigint"})
FLOAT_TYPES = frozenset({"float", "double"})
TEMPORAL_TYPES = frozenset({"date", "timestamp"})
SCALAR_TYPES = STRING_TYPES | INTEGER_TYPES | FLOAT_TYPES | TEMPORAL_TYPES | {"boolean", "binary"}

_TYPE_ALIASES = {
    "str": "string", "varchar": "string", "text": "string", "char": "string",
    "integer": "int", "long": "bigint", "short": "smallint", "byte": "tinyint",
    "real": "float", "bool": "boolean", "datetime": "timestamp",
    "timestamp_ntz": "timestamp", "timestamp_ltz": "timestamp", "number": "decimal",
}
_DECIMAL = re.compile(r"^decimal(\(\s*(\d{1,3})\s*(,\s*(\d{1,3})\s*)?\))?$")
_MAX_TYPE_NESTING = 32


def normalize_type(text: str) -> str | None:
    """The canonical spelling of a column type (``long`` → ``bigint``), or None if unknown.

    Accepted: the scalar types above, their common aliases, ``decimal(p,s)``,
    ``array<T>``, ``map<K,V>`` and ``struct<name:T,...>`` (nested at most 32 deep; field names lower case).
    """
    name = re.sub(r"\s+", "", text.strip().lower())
    if name.count("<") > _MAX_TYPE_NESTING:
        return None
    name = _TYPE_ALIASES.get(name, name)
    if name in SCALAR_TYPES:
        return name
    decimal = _DECIMAL.fullmatch(name)
    if decimal:
        precision, scale = decimal.group(2) or "38", decimal.group(4) or "0"
        return f"decimal({precision},{scale})" if int(scale) <= int(precision) <= 38 else None
    for prefix, arity in (("array<", 1), ("map<", 2)):
        if name.startswith(prefix) and name.endswith(">"):
            parts = split_top_level(name[len(prefix):-1])
            normal = [normalize_type(p) for p in parts]
            if len(parts) == arity and all(normal):
                return f"{prefix}{','.join(n for n in normal if n)}>"
    if name.startswith("struct<") and name.endswith(">"):
        fields = [part.partition(":") for part in split_top_level(name[len("struct<"):-1])]
        typed = [(field, normalize_type(kind)) for field, colon, kind in fields if colon]
        if len(typed) == len(fields) and all(_FIELD.fullmatch(f) and t for f, t in typed) and \
                len({f for f, _ in typed}) == len(typed):
            return "struct<" + ",".join(f"{f}:{t}" for f, t in typed) + ">"
    return None


_FIELD = re.compile(r"[a-z_][a-z0-9_]*")


def array_element(type_: str | None) -> str | None:
    """The element type of ``array<T>``; None for any other type."""
    if type_ and type_.startswith("array<"):
        return type_[len("array<"):-1]
    return None


def struct_fields(type_: str | None) -> tuple[tuple[str, str], ...] | None:
    """The (name, type) fields of ``struct<...>``; None for any other type."""
    if not (type_ and type_.startswith("struct<")):
        return None
    fields = (part.partition(":") for part in split_top_level(type_[len("struct<"):-1]))
    return tuple((name, kind) for name, _, kind in fields)


def split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"<": 1, "(": 1, ">": -1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def is_numeric_type(type_: str | None) -> bool:
    return type_ is not None and (
        type_ in INTEGER_TYPES or type_ in FLOAT_TYPES or type_.startswith("decimal")
    )


def scalar_fits_type(value: Scalar, type_: str | None) -> bool:
    """Whether a literal can stand in a column of `type_` (unknown types accept anything)."""
    if value is None or type_ is None:
        return True
    if type_ == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if type_ in INTEGER_TYPES:
        return isinstance(value, int)
    if is_numeric_type(type_):
        return isinstance(value, (int, float))
    if type_ in STRING_TYPES or type_ in TEMPORAL_TYPES:
        return isinstance(value, str)
    return True


@attrs.frozen(kw_only=True)
class Column:
    """A column of a dataset or relation; `type` is a normalised type name or None if unknown."""

    name: str
    type: str | None = None
    nullable: bool = True
    description: str = ""
    span: Span | None = span_field()
