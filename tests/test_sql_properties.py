"""Differential property: a fused chain (one query of CTEs) and the same chain run one step per table
give the same rows, for random chains over random, messy data."""

from __future__ import annotations

from collections import Counter

import duckdb
from hypothesis import given

from messy_data import Case, cases, create_table
from sparklec.sql import DIALECTS, Relation, chain_steps, with_ctes


@given(cases())
def test_fused_and_step_by_step_give_the_same_rows(case: Case) -> None:
    schema, rows, ops = case
    connection = duckdb.connect()
    create_table(connection, "src", schema, rows)
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
