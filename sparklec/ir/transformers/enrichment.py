"""Enrichment transformers: audit, provenance, keys, dates and row numbering."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from sparklec.ir.transformers.base import AUDIT_COLUMNS, Op, RankingOp, Schema, as_columns, param
from sparklec.ir.values import TEMPORAL_TYPES, Column

HASH_ALGORITHMS = ("md5", "sha256", "sha512")


def _require_temporal(columns: Mapping[str, Column], name: str, op: str) -> list[tuple[str, str]]:
    column = columns.get(name)
    if column and column.type and column.type not in TEMPORAL_TYPES:
        return [(name, f"`{op}` needs a date or timestamp column, but `{name}` is {column.type}")]
    return []


@attrs.frozen(kw_only=True)
class AddAuditColumns(Op):
    """Add ``created_at``/``updated_at`` (now) and ``created_by``/``updated_by`` (`user`)."""

    NAME = "add_audit_columns"
    user: str = param("system")
    overwrite: bool = param(False)

    def columns_added(self, columns: Schema) -> Schema:
        return tuple(
            Column(name=n, type="timestamp" if n.endswith("_at") else "string") for n in AUDIT_COLUMNS
        )

    def replaces_existing(self) -> bool:
        return self.overwrite


@attrs.frozen(kw_only=True)
class AddIngestionMetadata(Op):
    """Add ``_ingestion_timestamp``, ``_ingestion_date``, ``_source_system``, ``_batch_id``."""

    NAME = "add_ingestion_metadata"
    source: str = param(aliases=("source_system",))
    batch_id: str | None = param(None)

    def columns_added(self, columns: Schema) -> Schema:
        return (
            Column(name="_ingestion_timestamp", type="timestamp"),
            Column(name="_ingestion_date", type="date"),
            Column(name="_source_system", type="string"),
            Column(name="_batch_id", type="string"),
        )


@attrs.frozen(kw_only=True)
class AddHashKey(Op):
    """Add a NULL-safe hash of `source_columns` joined by `separator`."""

    NAME = "add_hash_key"
    source_columns: tuple[str, ...] = param(aliases=("columns",), convert=as_columns)
    target_column: str = param("hash_key", aliases=("hash_column",))
    algorithm: str = param("md5", choices=HASH_ALGORITHMS)
    separator: str = param("||")

    def columns_read(self) -> tuple[str, ...]:
        return self.source_columns

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.target_column, type="string"),)


@attrs.frozen(kw_only=True)
class AddBusinessKey(Op):
    """Add the key columns as text joined by `separator` (NULL-safe)."""

    NAME = "add_business_key"
    key_columns: tuple[str, ...] = param(aliases=("columns",), convert=as_columns)
    target_column: str = param("business_key")
    separator: str = param("|")

    def columns_read(self) -> tuple[str, ...]:
        return self.key_columns

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.target_column, type="string"),)


@attrs.frozen(kw_only=True)
class AddSurrogateKey(Op):
    """Add a deterministic surrogate key: a hash of `key_columns`."""

    NAME = "add_surrogate_key"
    key_columns: tuple[str, ...] = param(aliases=("columns",), convert=as_columns)
    column_name: str = param("surrogate_key", aliases=("target_column",))

    def columns_read(self) -> tuple[str, ...]:
        return self.key_columns

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.column_name, type="string"),)


@attrs.frozen(kw_only=True)
class AddDateComponents(Op):
    """Add ``{prefix}year``, ``{prefix}month`` and ``{prefix}day`` of `date_column`."""

    NAME = "add_date_components"
    date_column: str = param(aliases=("column",))
    prefix: str = param("")

    def columns_read(self) -> tuple[str, ...]:
        return (self.date_column,)

    def columns_added(self, columns: Schema) -> Schema:
        return tuple(Column(name=f"{self.prefix}{part}", type="int") for part in ("year", "month", "day"))

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return _require_temporal(columns, self.date_column, self.NAME)


@attrs.frozen(kw_only=True)
class AddRowNumber(RankingOp):
    """Add ``row_number()`` over `partition_by` ordered by `order_by`."""

    NAME = "add_row_number"
    column_name: str = param("row_num", aliases=("target_column",))

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.column_name, type="bigint"),)


@attrs.frozen(kw_only=True)
class AddRank(RankingOp):
    """Add ``rank()`` (or ``dense_rank()``) over `partition_by` ordered by `order_by`."""

    NAME = "add_rank"
    column_name: str = param("rank", aliases=("target_column",))
    dense: bool = param(False)

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.column_name, type="bigint"),)


@attrs.frozen(kw_only=True)
class AddAgeFromBirthdate(Op):
    """Add whole years between `birthdate_column` and `reference_date` (default today)."""

    NAME = "add_age_from_birthdate"
    birthdate_column: str = param(aliases=("column",))
    target_column: str = param("age")
    reference_date: str | None = param(None)

    def columns_read(self) -> tuple[str, ...]:
        return (self.birthdate_column,)

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.target_column, type="int"),)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return _require_temporal(columns, self.birthdate_column, self.NAME)


@attrs.frozen(kw_only=True)
class AddTenureMonths(Op):
    """Add whole months between `start_date_column` and `end_date_column` (default today)."""

    NAME = "add_tenure_months"
    start_date_column: str = param(aliases=("start_column",))
    end_date_column: str | None = param(None, aliases=("end_column",))
    target_column: str = param("tenure_months")

    def columns_read(self) -> tuple[str, ...]:
        return (self.start_date_column,) + ((self.end_date_column,) if self.end_date_column else ())

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.target_column, type="int"),)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return [p for c in self.columns_read() for p in _require_temporal(columns, c, self.NAME)]


@attrs.frozen(kw_only=True)
class PerformLookup(Op):
    """Add `select_columns` of the relation `lookup_table` from its row whose `join_columns` equal the row's
    (`how`: ``left`` keeps rows without a match, with NULLs; ``inner`` drops them; a key matched twice gives two
    rows).  The columns are named, not all taken: the output's columns must not hang on a table's."""

    NAME = "perform_lookup"
    RELATION_FIELDS = ("lookup_table",)
    lookup_table: str = param(aliases=("lookup_df", "lookup"))
    join_columns: tuple[str, ...] = param(aliases=("on", "key_columns"), convert=as_columns)
    select_columns: tuple[str, ...] = param(convert=as_columns)
    how: str = param("left", choices=("left", "inner"))

    def columns_read(self) -> tuple[str, ...]:
        return self.join_columns

    def relations_read(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return ((self.lookup_table, (*self.join_columns, *self.select_columns)),)

    def columns_added(self, columns: Schema) -> Schema:
        return tuple(Column(name=c) for c in self.select_columns)
