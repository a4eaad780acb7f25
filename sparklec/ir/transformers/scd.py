"""Slowly changing dimension transformers."""

from __future__ import annotations

import datetime

import attrs

from sparklec.ir.transformers.base import Op, Schema, as_columns, param
from sparklec.ir.values import Column


@attrs.frozen(kw_only=True)
class ScdType2(Op):
    """Type-2 history against the current target: close changed rows, open new versions."""

    NAME = "scd_type2"
    CHANGES_GRAIN = True
    business_key: tuple[str, ...] = param(aliases=("key_columns",), convert=as_columns)
    compare_columns: tuple[str, ...] | None = param(None, aliases=("track_columns",), convert=as_columns)
    effective_from: str = param("valid_from")
    effective_to: str = param("valid_to")
    current_flag: str = param("is_current")

    def columns_read(self) -> tuple[str, ...]:
        return self.business_key + (self.compare_columns or ())

    def columns_added(self, columns: Schema) -> Schema:
        return (
            Column(name=self.effective_from, type="timestamp"),
            Column(name=self.effective_to, type="timestamp"),
            Column(name=self.current_flag, type="boolean"),
        )


@attrs.frozen(kw_only=True)
class ApplyScdType3(Op):
    """Add ``<column><history_suffix>`` for each of `columns_to_track`: its value in the key's version before,
    in `order_by` order (NULL for a key's first version).  The key is `key_columns`, by default every column
    but the tracked ones, as Sparkle's; Sparkle's PySpark orders by the time of the run, which orders nothing."""

    NAME = "apply_scd_type3"
    CHANGES_GRAIN = True
    columns_to_track: tuple[str, ...] = param(aliases=("track_columns",), convert=as_columns)
    order_by: tuple[str, ...] = param(convert=as_columns)
    key_columns: tuple[str, ...] | None = param(None, aliases=("business_key",), convert=as_columns)
    history_suffix: str = param("_previous")

    def columns_read(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.columns_to_track, *self.order_by, *(self.key_columns or ()))))

    def key(self, columns: Schema) -> tuple[str, ...]:
        """The key columns, given or taken from `columns`."""
        if self.key_columns is not None:
            return self.key_columns
        return tuple(c.name for c in columns if c.name not in self.columns_to_track)

    def columns_added(self, columns: Schema) -> Schema:
        types = {c.name: c.type for c in columns}
        return tuple(Column(name=f"{c}{self.history_suffix}", type=types.get(c)) for c in self.columns_to_track)


def as_date(value: object) -> str:
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}")


@attrs.frozen(kw_only=True)
class CloseScdRecords(Op):
    """Close every row: `end_date_column` set to the date `end_date`, `current_flag_column` to FALSE
    (`key_columns`, which Sparkle takes and does not use, need only exist)."""

    NAME = "close_scd_records"
    end_date: str = param(convert=as_date)
    key_columns: tuple[str, ...] = param((), convert=as_columns)
    end_date_column: str = param("end_date")
    current_flag_column: str = param("is_current")

    def columns_read(self) -> tuple[str, ...]:
        return self.key_columns

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.end_date_column, type="date"), Column(name=self.current_flag_column, type="boolean"))

    def replaces_existing(self) -> bool:
        return True


@attrs.frozen(kw_only=True)
class ApplyScdType1(Op):
    """The rows of `target_table` as a type-1 update by the incoming rows leaves them: a key's incoming row
    replaces `update_columns` (by default every column) of its current row, or is added when the key is new;
    the other keys' rows stay.  (Sparkle's PySpark unions both and keeps an arbitrary row per key.)  The
    input's columns must be known; the target must have them."""

    NAME = "apply_scd_type1"
    RELATION_FIELDS = ("target_table",)
    CHANGES_GRAIN = True
    target_table: str = param(aliases=("target_df", "target"))
    key_columns: tuple[str, ...] = param(aliases=("business_key",), convert=as_columns)
    update_columns: tuple[str, ...] | None = param(None, convert=as_columns)

    def columns_read(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.key_columns, *(self.update_columns or ()))))

    def relations_read(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return ((self.target_table, self.columns_read()),)


@attrs.frozen(kw_only=True)
class ApplyScdType2(Op):
    """The versions of each key among the rows, in `effective_date_column` order: a row opens a version only
    when one of `compare_columns` differs from the key's row before (Sparkle's PySpark makes every row a
    version, and stamps the time of the run on rows without the column, which orders nothing, so the column is
    required here); each version ends where the next begins (`end_date_column`, 9999-12-31 for the last), is
    current when last, and is numbered from 1 (`version_column`, none when null)."""

    NAME = "apply_scd_type2"
    CHANGES_GRAIN = True
    key_columns: tuple[str, ...] = param(aliases=("business_key",), convert=as_columns)
    compare_columns: tuple[str, ...] = param(aliases=("track_columns",), convert=as_columns)
    effective_date_column: str = param("effective_date")
    end_date_column: str = param("end_date")
    current_flag_column: str = param("is_current")
    version_column: str | None = param("version")

    def columns_read(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.key_columns, *self.compare_columns, self.effective_date_column)))

    def time_type(self, columns: Schema) -> str:
        """The type of the end dates: the effective column's (a timestamp when not known)."""
        return next((c.type for c in columns if c.name == self.effective_date_column and c.type), "timestamp")

    def columns_added(self, columns: Schema) -> Schema:
        added = (Column(name=self.end_date_column, type=self.time_type(columns)),
                 Column(name=self.current_flag_column, type="boolean"))
        return added + ((Column(name=self.version_column, type="int"),) if self.version_column else ())
