"""The base of transformer ops and the helpers their parameters share.

Every op is a frozen attrs class whose fields are its parameters.  Field
metadata carries the parameter aliases accepted from Sparkle configs and the
allowed choices, so that both frontends build ops through `build_op` and share
its checks.  Each op also describes its column flow (`columns_read`,
`columns_added`, `columns_removed`, `output_columns`) so that the verifier can
check column names and types through a chain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs

from sparklec.diagnostics import RefSpans, Span, ref_spans_field, span_field
from sparklec.ir.values import Column, Scalar, is_numeric_type

Schema = tuple[Column, ...]


def param(
    default: Any = attrs.NOTHING,
    *,
    aliases: tuple[str, ...] = (),
    choices: tuple[str, ...] | None = None,
    convert: Callable[[object], Any] | None = None,
) -> Any:
    """Declare a transformer parameter (an attrs field with frontend metadata)."""
    return attrs.field(
        default=default,
        metadata={"aliases": aliases, "choices": choices, "convert": convert},
    )


class ParamError(ValueError):
    """A parameter value that does not fit; `param` names it (None: the op as a whole)."""

    def __init__(self, param: str | None, message: str, help: str | None = None):
        super().__init__(message)
        self.param = param
        self.message = message
        self.help = help


@attrs.frozen(kw_only=True)
class Replacement:
    column: str
    old: Scalar
    new: Scalar


@attrs.frozen(kw_only=True)
class FillValue:
    column: str
    value: Scalar


_SIMPLE_AGGREGATE = re.compile(r"^\s*(sum|avg|count|min|max|stddev|variance)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.I)


@attrs.frozen(kw_only=True)
class Measure:
    """A named SQL expression: an aggregate's output column ``name`` = ``expression``, or a validation rule."""

    name: str
    expression: str

    @property
    def function(self) -> str | None:
        """The aggregate function when the expression is a plain ``fn(column)``."""
        match = _SIMPLE_AGGREGATE.match(self.expression)
        return match.group(1).lower() if match else None

    @property
    def column(self) -> str | None:
        """The aggregated column when the expression is a plain ``fn(column)``."""
        match = _SIMPLE_AGGREGATE.match(self.expression)
        return match.group(2) if match else None


AGGREGATE_FUNCTIONS = ("sum", "avg", "count", "min", "max", "stddev", "variance")
DEFAULT_NULL_VALUES = ("", "NULL", "null", "Null", "N/A", "n/a", "NA", "None", "none", "#N/A")
AUDIT_COLUMNS = ("created_at", "updated_at", "created_by", "updated_by")


@attrs.frozen(kw_only=True)
class Op:
    """A transformer step in a chain. Subclasses set `NAME` and declare parameters."""

    NAME: ClassVar[str]
    CHANGES_GRAIN: ClassVar[bool] = False
    NAMES_EVERY_COLUMN: ClassVar[bool] = False
    """Whether the op's output columns are those it names, whatever its input's (an aggregate's)."""
    RELATION_FIELDS: ClassVar[tuple[str, ...]] = ()
    """The parameters that name another relation the op reads (a lookup's table)."""
    span: Span | None = span_field()
    ref_spans: RefSpans = ref_spans_field()
    """Where each name among the arguments is written, for diagnostics about it."""

    def columns_read(self) -> tuple[str, ...]:
        """Input columns this op names; each must exist when the input schema is known."""
        return ()

    def columns_added(self, columns: Schema) -> Schema:
        """New columns appended to the output."""
        return ()

    def relations_read(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Other relations the op reads, each with the columns it names of it (a lookup's table)."""
        return ()

    def columns_removed(self) -> tuple[str, ...]:
        return ()

    def replaces_existing(self) -> bool:
        """Whether added columns may overwrite existing ones (otherwise a name clash is an error)."""
        return False

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        """(column, message) pairs for columns whose declared type does not fit this op."""
        return []

    def output_columns(self, columns: Schema) -> Schema | None:
        """The output schema for a known input schema (None: not known statically)."""
        added = self.columns_added(columns)
        added_names = {c.name for c in added}
        removed = set(self.columns_removed())
        kept = tuple(
            next((a for a in added if a.name == c.name), c) if c.name in added_names else c
            for c in columns
            if c.name not in removed
        )
        kept_names = {c.name for c in kept}
        return kept + tuple(c for c in added if c.name not in kept_names)


def as_columns(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError("expected a column name or a list of column names")


@attrs.frozen(kw_only=True)
class RankingOp(Op):
    """A column numbering the rows of each `partition_by` group in `order_by` order (row numbers, ranks,
    buckets)."""

    CHANGES_GRAIN = True
    partition_by: tuple[str, ...] = param((), convert=as_columns)
    order_by: tuple[str, ...] = param(convert=as_columns)

    def columns_read(self) -> tuple[str, ...]:
        return self.partition_by + self.order_by


def as_literals(value: object) -> tuple[Scalar, ...]:
    if isinstance(value, (list, tuple)) and all(is_literal(v) for v in value):
        return tuple(value)
    raise ValueError("expected a list of literal values")


def is_literal(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def require_numeric(columns: Mapping[str, Column], name: str, op: str) -> list[tuple[str, str]]:
    """A problem when the declared type of `name` is not numeric."""
    column = columns.get(name)
    if column and column.type and not is_numeric_type(column.type):
        return [(name, f"`{op}` needs a numeric column, but `{name}` is {column.type}")]
    return []


def require_strings(columns: Mapping[str, Column], names: tuple[str, ...], op: str) -> list[tuple[str, str]]:
    return [
        (n, f"`{op}` needs a string column, but `{n}` is {columns[n].type}")
        for n in names
        if n in columns and columns[n].type not in (None, "string")
    ]
