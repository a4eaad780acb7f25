"""The SQL dialects sparklec emits, and what each can and cannot do."""

from __future__ import annotations

import attrs

DEFAULT_DIALECT = "databricks"


@attrs.frozen
class Dialect:
    """A target SQL dialect (a sqlglot dialect name) and its gaps."""

    name: str
    star_except: bool = True
    hashes: tuple[str, ...] = ("md5", "sha256", "sha512")
    exact_quantile: str | None = "percentile_cont"
    """How an exact, interpolated quantile is written: ``percentile_cont`` (WITHIN GROUP or
    QUANTILE_CONT), ``percentile`` (Spark's exact PERCENTILE), or None when there is none."""


DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        Dialect("databricks", exact_quantile="percentile"),
        Dialect("spark", star_except=False, exact_quantile="percentile"),
        Dialect("duckdb", hashes=("md5", "sha256")),
        Dialect("snowflake"),
        Dialect("bigquery", exact_quantile=None),
        Dialect("trino", star_except=False, exact_quantile=None),
        Dialect("athena", star_except=False, exact_quantile=None),
    )
}
