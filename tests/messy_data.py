"""Random, messy rows for random schemas (NULLs, empty strings, white space, unicode, duplicates)."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import duckdb
from hypothesis import strategies as st

from sparklec.ir import transformers as tf
from sparklec.ir.transformers import Schema
from sparklec.sql import DIALECTS
from sparklec.testing import chains, schemas

VALUES: dict[str, list[Any]] = {
    "string": [None, "", " ", "  a   b ", "N/A", " Ann@Example.COM ", "ünï", "x", "(555) 123-4567", "it's"],
    "bigint": [None, 0, 1, -5, 42], "int": [None, 0, 7, -3],
    "double": [None, 0.5, -1.25, 3.0], "boolean": [None, True, False],
    "date": [None, datetime.date(2024, 2, 29), datetime.date(1999, 12, 31)],
    "timestamp": [None, datetime.datetime(2024, 1, 2, 3, 4, 5)],
    "decimal(18,2)": [None, decimal.Decimal("1.50"), decimal.Decimal("-2.25")],
}
DUCKDB_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "double": "DOUBLE",
                "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP", "decimal(18,2)": "DECIMAL(18,2)"}

Case = tuple[Schema, list[tuple[Any, ...]], tuple[tf.Op, ...]]


@st.composite
def cases(draw: Any, max_ops: int = 6) -> Case:
    """A schema, messy rows for it (some repeated) and a deterministic chain DuckDB can run."""
    schema = draw(schemas())
    rows = draw(st.lists(st.tuples(*(st.sampled_from(VALUES[c.type or "string"]) for c in schema)), max_size=12))
    rows += rows[: draw(st.integers(0, 3))]
    ops, _ = draw(chains(schema, max_ops=max_ops, deterministic=True, hashes=DIALECTS["duckdb"].hashes))
    return schema, rows, ops


def create_table(connection: duckdb.DuckDBPyConnection, name: str, schema: Schema, rows: list[tuple[Any, ...]]
                 ) -> None:
    """CREATE TABLE `name` (may be schema-qualified, already quoted) with `rows`."""
    connection.execute(f"CREATE TABLE {name} (" + ", ".join(f'"{c.name}" {DUCKDB_TYPES[c.type or "string"]}'
                                                           for c in schema) + ")")
    if rows:
        connection.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' for _ in schema)})", rows)
