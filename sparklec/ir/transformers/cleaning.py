"""Row-level and column-cleaning transformers."""

from __future__ import annotations

from collections.abc import Mapping

import re

import attrs

from sparklec.ir.expressions import columns_named
from sparklec.ir.transformers.base import (
    DEFAULT_NULL_VALUES, FillValue, Op, Replacement, Schema, is_literal, require_numeric, require_strings,
    as_literals, as_columns, param,
)
from sparklec.ir.values import Column, Scalar, scalar_fits_type


DIALLING_PREFIXES = {
    "US": "+1", "CA": "+1", "GB": "+44", "UK": "+44", "IE": "+353", "FR": "+33", "DE": "+49",
    "ES": "+34", "IT": "+39", "PT": "+351", "NL": "+31", "BE": "+32", "CH": "+41", "AT": "+43",
    "SE": "+46", "NO": "+47", "DK": "+45", "FI": "+358", "PL": "+48", "CZ": "+420", "GR": "+30",
    "TR": "+90", "IL": "+972", "AE": "+971", "SA": "+966", "IN": "+91", "CN": "+86", "JP": "+81",
    "KR": "+82", "SG": "+65", "HK": "+852", "AU": "+61", "NZ": "+64", "BR": "+55", "MX": "+52",
    "AR": "+54", "CL": "+56", "CO": "+57", "ZA": "+27", "NG": "+234", "KE": "+254", "EG": "+20",
}


def dialling_prefix(value: object) -> str:
    """``US`` → ``+1``; a prefix such as ``+44`` is kept as it is."""
    if isinstance(value, str) and re.fullmatch(r"\+\d{1,4}", value):
        return value
    if isinstance(value, str) and value.upper() in DIALLING_PREFIXES:
        return DIALLING_PREFIXES[value.upper()]
    raise ValueError(
        "expected an ISO country code (US, GB, ...) or a dialling prefix such as +1"
    )


# --- row-level ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class DropExactDuplicates(Op):
    """Keep one copy of each identical row (``SELECT DISTINCT *``)."""

    NAME = "drop_exact_duplicates"
    CHANGES_GRAIN = True


@attrs.frozen(kw_only=True)
class DropDuplicatesByKey(Op):
    """Keep the first (or last) row per key, ordered by `order_by`."""

    NAME = "drop_duplicates_by_key"
    CHANGES_GRAIN = True
    key_columns: tuple[str, ...] = param(aliases=("keys", "subset"), convert=as_columns)
    order_by: tuple[str, ...] = param(convert=as_columns)
    keep: str = param("first", choices=("first", "last"))

    def columns_read(self) -> tuple[str, ...]:
        return self.key_columns + self.order_by


@attrs.frozen(kw_only=True)
class FilterByCondition(Op):
    """Keep the rows where the SQL boolean `condition` holds."""

    NAME = "filter_by_condition"
    condition: str = param()

    def columns_read(self) -> tuple[str, ...]:
        return columns_named(self.condition)


def _delimiter(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a delimiter of one or more characters")
    return value


@attrs.frozen(kw_only=True)
class SplitDelimitedColumn(Op):
    """Set each of `target_columns` to the next piece of the string `column` split at `delimiter` (taken as
    written, not as a regular expression as Spark's `split` takes it); a missing or empty piece is NULL."""

    NAME = "split_delimited_column"
    column: str = param()
    delimiter: str = param(convert=_delimiter)
    target_columns: tuple[str, ...] = param(convert=as_columns)

    def columns_read(self) -> tuple[str, ...]:
        return (self.column,)

    def columns_added(self, columns: Schema) -> Schema:
        return tuple(Column(name=name, type="string") for name in self.target_columns)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_strings(columns, (self.column,), self.NAME)


@attrs.frozen(kw_only=True)
class SelectColumns(Op):
    """Keep only `columns`, in that order."""

    NAME = "select_columns"
    NAMES_EVERY_COLUMN = True
    columns: tuple[str, ...] = param(convert=as_columns)

    def columns_read(self) -> tuple[str, ...]:
        return self.columns

    def output_columns(self, columns: Schema) -> Schema | None:
        by_name = {c.name: c for c in columns}
        return tuple(by_name.get(name, Column(name=name)) for name in self.columns)


@attrs.frozen(kw_only=True)
class DropNullRows(Op):
    """Drop rows where any (or all) of `columns` are NULL."""

    NAME = "drop_null_rows"
    columns: tuple[str, ...] | None = param(None, aliases=("subset",), convert=as_columns)
    how: str = param("any", choices=("any", "all"))

    def columns_read(self) -> tuple[str, ...]:
        return self.columns or ()


@attrs.frozen(kw_only=True)
class RemoveOutliersIqr(Op):
    """Keep rows within `multiplier` inter-quartile ranges of `column`'s quartiles."""

    NAME = "remove_outliers_iqr"
    CHANGES_GRAIN = True
    column: str = param()
    multiplier: float = param(1.5)

    def columns_read(self) -> tuple[str, ...]:
        return (self.column,)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_numeric(columns, self.column, self.NAME)


# --- column cleaning -----------------------------------------------------------


@attrs.frozen(kw_only=True)
class StandardizeNulls(Op):
    """Turn placeholder strings (``""``, ``"N/A"``, ...) into NULL in string columns."""

    NAME = "standardize_nulls"
    null_values: tuple[Scalar, ...] = param(DEFAULT_NULL_VALUES, convert=as_literals)
    columns: tuple[str, ...] | None = param(None, convert=as_columns)
    trim: bool = param(False)

    def columns_read(self) -> tuple[str, ...]:
        return self.columns or ()


@attrs.frozen(kw_only=True)
class TrimAndCleanStrings(Op):
    """Collapse runs of white space to one space, then trim."""

    NAME = "trim_and_clean_strings"
    columns: tuple[str, ...] | None = param(None, convert=as_columns)

    def columns_read(self) -> tuple[str, ...]:
        return self.columns or ()

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_strings(columns, self.columns or (), self.NAME)


@attrs.frozen(kw_only=True)
class NormalizeCase(Op):
    """Upper- or lower-case string columns."""

    NAME = "normalize_case"
    columns: tuple[str, ...] = param(convert=as_columns)
    case: str = param("upper", choices=("upper", "lower"))

    def columns_read(self) -> tuple[str, ...]:
        return self.columns

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_strings(columns, self.columns, self.NAME)


@attrs.frozen(kw_only=True)
class RemoveSpecialCharacters(Op):
    """Replace every character outside ``[a-zA-Z0-9\\s]`` by `replacement`."""

    NAME = "remove_special_characters"
    columns: tuple[str, ...] = param(convert=as_columns)
    replacement: str = param("")

    def columns_read(self) -> tuple[str, ...]:
        return self.columns

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_strings(columns, self.columns, self.NAME)


def _replacements(value: object) -> tuple[Replacement, ...]:
    if not isinstance(value, Mapping) or not value:
        raise ValueError("expected a non-empty map {column: {old: new}}")
    result = []
    for column, mapping in value.items():
        if not isinstance(mapping, Mapping) or not mapping:
            raise ValueError(f"expected a non-empty map {{old: new}} for column `{column}`")
        for old, new in mapping.items():
            if not is_literal(new):
                raise ValueError(f"replacement for `{old}` in `{column}` must be a literal")
            result.append(Replacement(column=column, old=old, new=new))
    return tuple(result)


@attrs.frozen(kw_only=True)
class ReplaceValues(Op):
    """Replace exact values per column."""

    NAME = "replace_values"
    replacements: tuple[Replacement, ...] = param(aliases=("mapping",), convert=_replacements)

    def columns_read(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.column for r in self.replacements))


def _fill_values(value: object) -> tuple[FillValue, ...]:
    if not isinstance(value, Mapping) or not value:
        raise ValueError("expected a non-empty map {column: value}")
    if not all(is_literal(v) for v in value.values()):
        raise ValueError("fill values must be literals")
    return tuple(FillValue(column=c, value=v) for c, v in value.items())


@attrs.frozen(kw_only=True)
class FillNulls(Op):
    """Replace NULLs by a per-column literal."""

    NAME = "fill_nulls"
    fill_values: tuple[FillValue, ...] = param(aliases=("values",), convert=_fill_values)

    def columns_read(self) -> tuple[str, ...]:
        return tuple(f.column for f in self.fill_values)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return [
            (f.column, f"fill value {f.value!r} does not fit column `{f.column}` of type {columns[f.column].type}")
            for f in self.fill_values
            if f.column in columns and not scalar_fits_type(f.value, columns[f.column].type)
        ]


@attrs.frozen(kw_only=True)
class CoalesceColumns(Op):
    """Set `target_column` to the first non-NULL of `source_columns`."""

    NAME = "coalesce_columns"
    target_column: str = param()
    source_columns: tuple[str, ...] = param(convert=as_columns)
    drop_sources: bool = param(False)

    def columns_read(self) -> tuple[str, ...]:
        return self.source_columns

    def columns_added(self, columns: Schema) -> Schema:
        types = {c.type for c in columns if c.name in self.source_columns}
        return (Column(name=self.target_column, type=types.pop() if len(types) == 1 else None),)

    def columns_removed(self) -> tuple[str, ...]:
        return tuple(c for c in self.source_columns if c != self.target_column) if self.drop_sources else ()

    def replaces_existing(self) -> bool:
        return self.target_column in self.source_columns


@attrs.frozen(kw_only=True)
class CleanEmailAddresses(Op):
    """Lower-case and trim e-mail addresses; invalid ones become NULL."""

    NAME = "clean_email_addresses"
    columns: tuple[str, ...] = param(aliases=("email_column", "column"), convert=as_columns)

    def columns_read(self) -> tuple[str, ...]:
        return self.columns

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_strings(columns, self.columns, self.NAME)


@attrs.frozen(kw_only=True)
class CleanPhoneNumbers(Op):
    """Keep only digits, optionally prefixed by a country's dialling code."""

    NAME = "clean_phone_numbers"
    columns: tuple[str, ...] = param(aliases=("phone_column", "column"), convert=as_columns)
    country_code: str | None = param(None, convert=dialling_prefix)

    def columns_read(self) -> tuple[str, ...]:
        return self.columns
