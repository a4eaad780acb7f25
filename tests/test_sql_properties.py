"""Differential property: a fused chain (one query of CTEs) and the same chain run one step per table
give the same rows, for random chains over random, messy data."""

from __future__ import annotations

import datetime
import decimal
from collections import Counter
from typing import Any

import duckdb
from hypothesis import given
from hypothesis import strategies as st

from sparklec.ir import transformers as tf
from sparklec.ir.transformers import Schema
from sparklec.sql import DIALECTS, Relation, chain_steps, with_ctes
from sparklec.testing import chains, schemas

VALUES: dict[str, list[Any]] = {
    "string": [None, "", " ", "  a   b ", "N/A", " Ann@Example.COM ", "ünï", "x", "(555) 123-4567"],
    "bigint": [None, 0, 1, -5, 42], "int": [None, 0, 7, -3],
    "double": [None, 0.5, -1.25, 3.0], "boolean": [None, True, False],
    "date": [None, datetime.date(2024, 2, 29), datetime.date(1999, 12, 31)],
    "timestamp": [None, datetime.datetime(2024, 1, 2, 3, 4, 5)],
    "decimal(18,2)": [None, decimal.Decimal("1.50"), decimal.Decimal("-2.25")],
}
DUCKDB_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "double": "DOUBLE",
                "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP", "decimal(18,2)": "DECIMAL(18,2)"}


@st.composite
def cases(draw: Any) -> tuple[Schema, list[tuple[Any, ...]], tuple[tf.Op, ...]]:
    schema = draw(schemas())
    rows = draw(st.lists(st.tuples(*(st.sampled_from(VALUES[c.type or "string"]) for c in schema)), max_size=12))
    rows += rows[: draw(st.integers(0, 3))]  # exact duplicates
    ops, _ = draw(chains(schema, max_ops=6, deterministic=True, hashes=DIALECTS["duckdb"].hashes))
    return schema, rows, ops


@given(cases())
def test_fused_and_step_by_step_give_the_same_rows(case: tuple[Schema, list[tuple[Any, ...]], tuple[tf.Op, ...]]
                                                    ) -> None:
    schema, rows, ops = case
    connection = duckdb.connect()
    connection.execute("CREATE TABLE src (" + ", ".join(f'"{c.name}" {DUCKDB_TYPES[c.type or "string"]}'
                                                       for c in schema) + ")")
    if rows:
        connection.executemany(f"INSERT INTO src VALUES ({', '.join('?' for _ in schema)})", rows)
    steps = chain_steps(Relation("src", schema), ops, DIALECTS["duckdb"])
    fused = connection.execute(with_ctes("src", steps).sql(dialect="duckdb")).fetchall()
    for step in steps:
        connection.execute(f'CREATE TABLE "{step.name}" AS {step.query.sql(dialect="duckdb")}')
    last = steps[-1].name if steps else "src"
    unfused = connection.execute(f'SELECT * FROM "{last}"').fetchall()
    assert Counter(fused) == Counter(unfused)
    expected_columns = [c.name for c in (steps[-1].columns if steps else schema) or ()]
    described = [d[0] for d in connection.execute(f'SELECT * FROM "{last}"').description]
    assert described == expected_columns, "the IR's column flow matches the SQL's columns"
