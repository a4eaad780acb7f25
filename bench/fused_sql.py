"""A transformer chain of six ops run in DuckDB two ways: fused (one query, a CTE per op, as sparklec writes
it) and unfused (each op's result materialised as a table, as a one-task-per-op lowering does)."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from sparklec.frontends.dsl import parse
from sparklec.ir import tasks as t
from sparklec.sql import DIALECTS, Relation, chain_steps
from sparklec.sql.tasks import TaskSql
from synthetic import COLUMNS, OPS

CHAIN = f"""pipeline fused_sql {{
  source raw = main.bronze.raw {{
    columns {{ {", ".join(f"{name}: {kind}" for name, kind in COLUMNS.items())} }}
  }}
  task chain = from raw | {" | ".join(OPS)}
}}
"""
DATA = """CREATE OR REPLACE TABLE bronze.raw AS SELECT i AS id, '  Name  ' || (i % 100000) || ' ' AS name,
  CASE WHEN i % 10 = 0 THEN 'N/A' ELSE ' User' || (i % 500000) || '@Example.COM ' END AS email,
  ['us', 'de', ' fr', 'N/A'][i % 4 + 1] AS country, (i % 1000) - 20.5 AS amount FROM range({rows}) t(i)"""


def fused_and_unfused(rows: int, database: Path) -> tuple[float, float, int]:
    """Seconds to materialise the chain's result over `rows` rows fused and unfused (best of two runs each),
    in a DuckDB database file (as dbt-duckdb keeps one), and the number of ops."""
    pipeline = parse(CHAIN, "fused_sql.spk").pipelines[0]
    chain = next(s for s in pipeline.steps if isinstance(s, t.Transform))
    sql = TaskSql(pipeline, "duckdb", "work")
    fused = f"CREATE OR REPLACE TABLE work.fused AS {sql.text(sql.query(chain))}"
    steps = chain_steps(Relation("source", sql.columns.schema("raw")), chain.steps, DIALECTS["duckdb"])
    unfused = ["CREATE OR REPLACE VIEW work.source AS SELECT * FROM bronze.raw"] + [
        f"CREATE OR REPLACE TABLE work.{step.name} AS {step.query.sql(dialect='duckdb')}" for step in steps]
    connection = duckdb.connect(str(database))
    connection.execute("SET enable_progress_bar = false; CREATE SCHEMA bronze; CREATE SCHEMA work; "
                       "SET search_path = 'work'")
    connection.execute(DATA.format(rows=rows))
    timings = []
    for statements in ([fused], unfused):
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            for statement in statements:
                connection.execute(statement)
            best = min(best, time.perf_counter() - start)
        timings.append(best)
    final = connection.execute(f"SELECT count(*) FROM work.{steps[-1].name}").fetchone()
    assert final == connection.execute("SELECT count(*) FROM work.fused").fetchone(), "both give the same rows"
    connection.close()
    return timings[0], timings[1], len(steps)
