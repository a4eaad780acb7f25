"""Validation transformers: a rule on each row, kept as a boolean column (a flag) or applied as a filter.

A flag is TRUE or FALSE, never NULL: a row whose value is NULL does not pass a rule (Sparkle's PySpark leaves
such flags NULL).  As a filter, a rule keeps only the rows that pass it."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from sparklec.ir.expressions import columns_named
from sparklec.ir.transformers.aggregation import as_measures
from sparklec.ir.transformers.base import (
    Measure, Op, Schema, as_columns, is_literal, param, require_numeric, require_strings,
)
from sparklec.ir.values import Column, Scalar, scalar_fits_type


@attrs.frozen(kw_only=True)
class RuleOp(Op):
    """A rule on `column`: with `flag_column`, the boolean column of whether each row passes; without, a filter
    that keeps the rows that pass."""

    column: str = param()
    flag_column: str | None = param(None)

    def columns_read(self) -> tuple[str, ...]:
        return (self.column,)

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.flag_column, type="boolean"),) if self.flag_column else ()


@attrs.frozen(kw_only=True)
class ValidateRange(RuleOp):
    """`column` between `min_value` and `max_value` (both included; either may be left out)."""

    NAME = "validate_range"
    min_value: float | None = param(None, aliases=("min",))
    max_value: float | None = param(None, aliases=("max",))

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_numeric(columns, self.column, self.NAME)


@attrs.frozen(kw_only=True)
class ValidateLength(RuleOp):
    """The length of the string `column` between `min_length` and `max_length` (both included)."""

    NAME = "validate_length"
    min_length: int | None = param(None)
    max_length: int | None = param(None)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_strings(columns, (self.column,), self.NAME)


@attrs.frozen(kw_only=True)
class ValidatePattern(RuleOp):
    """The string `column` matches the regular expression `pattern` somewhere (anchor it with ``^...$`` to match
    the whole value)."""

    NAME = "validate_pattern"
    pattern: str = param(aliases=("regex",))

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_strings(columns, (self.column,), self.NAME)


def _rules(value: object) -> tuple[Measure, ...]:
    """Rules from ``{name: condition}`` (Sparkle's shape) or from ``[{name, expression}]``."""
    if isinstance(value, Mapping) and value and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return tuple(Measure(name=k, expression=v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        try:
            return as_measures(value)
        except ValueError:
            pass
    raise ValueError("expected a map {rule name: SQL condition}")


@attrs.frozen(kw_only=True)
class AddValidationFlags(Op):
    """Add `flag_column`: TRUE where every rule (a SQL condition) holds for the row, else FALSE.  (Sparkle's
    PySpark takes each rule's value on the first row for every row.)"""

    NAME = "add_validation_flags"
    rules: tuple[Measure, ...] = param(convert=_rules)
    flag_column: str = param("is_valid")

    def columns_read(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for rule in self.rules for c in columns_named(rule.expression)))

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.flag_column, type="boolean"),)


@attrs.frozen(kw_only=True)
class MarkInvalidRows(Op):
    """Add `invalid_column`: TRUE where the SQL `condition` (what makes a row invalid) holds, else FALSE."""

    NAME = "mark_invalid_rows"
    condition: str = param()
    invalid_column: str = param("_is_invalid")

    def columns_read(self) -> tuple[str, ...]:
        return columns_named(self.condition)

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.invalid_column, type="boolean"),)


def _literal(value: object) -> Scalar:
    if not is_literal(value):
        raise ValueError(f"expected a literal value, got {value!r}")
    return value  # type: ignore[return-value]


@attrs.frozen(kw_only=True)
class EnforceNotNull(Op):
    """Replace NULLs in `columns` by `default_value`."""

    NAME = "enforce_not_null"
    columns: tuple[str, ...] = param(convert=as_columns)
    default_value: Scalar = param("UNKNOWN", convert=_literal)

    def columns_read(self) -> tuple[str, ...]:
        return self.columns

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return [(name, f"default value {self.default_value!r} does not fit column `{name}` of type "
                       f"{columns[name].type}") for name in self.columns
                if name in columns and not scalar_fits_type(self.default_value, columns[name].type)]


@attrs.frozen(kw_only=True)
class SplitValidInvalid(Op):
    """Keep the rows whose boolean `validation_column` is TRUE (`keep: invalid`: FALSE); a chain carries one
    of Sparkle's two outputs, so a pipeline that needs both writes two tasks from the flagged rows."""

    NAME = "split_valid_invalid"
    validation_column: str = param("is_valid", aliases=("flag_column",))
    keep: str = param("valid", choices=("valid", "invalid"))

    def columns_read(self) -> tuple[str, ...]:
        return (self.validation_column,)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        column = columns.get(self.validation_column)
        if column and column.type and column.type != "boolean":
            return [(column.name, f"`{self.NAME}` needs a boolean column, but `{column.name}` is {column.type}")]
        return []
