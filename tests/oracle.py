"""What the execution oracles of the orchestrators share: an example run by `sparklec run` (the reference) and
by a backend's output, each on a database of its own, and random pipelines' sources over messy rows."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import strategies as st

from conftest import EXAMPLES
from dbt_harness import DATA, deliver_changes
from messy_data import VALUES, create_table
from sparklec.compiler.driver import load, optimise
from sparklec.ir import Column, Pipeline
from sparklec.ir import tasks as t
from sparklec.local import RunResult, run_project
from sparklec.local.engine import table_exists
from tables import rows, same_tables


class Example:
    """A bundled example, its data in a folder of its own, `sparklec run` writing into `reference`, the backend
    into `database`."""

    def __init__(self, name: str, tmp_path: Path, backend: str):
        self.project = optimise(load([EXAMPLES / "dsl" / f"{name}.spk"], environ={})[0])
        [self.pipeline] = self.project.pipelines
        self.data = tmp_path / "data"
        shutil.copytree(DATA, self.data)
        self.reference = tmp_path / "run.duckdb"
        self.database = duckdb.connect(str(tmp_path / f"{backend}.duckdb"))
        written = {w.target for w in t.walk(self.pipeline.steps) if isinstance(w, t.Write)}
        self.targets = [d for d in self.pipeline.datasets if d.name in written]
        self.sources = [d for d in self.pipeline.datasets if d.name not in written]

    def run_reference(self) -> None:
        result = run_project(self.project, data=self.data, database=self.reference)
        assert all(task.status != "failed" for task in result.tasks), result.tasks

    def land(self) -> None:
        """The sources in the backend's database, as the data folder has them now."""
        for dataset in self.sources:
            self.database.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset.schema}"')
            self.database.execute(f'CREATE OR REPLACE TABLE "{dataset.schema}"."{dataset.table}" AS SELECT * FROM '
                                  "read_csv(?, header = true)", [str(self.data / dataset.schema / f"{dataset.table}.csv")])

    def twice(self, run: Callable[[], str], succeeded: str) -> int:
        """Two runs of both sides, with new and changed rows delivered between them, each ending `succeeded` and
        leaving the same targets; how many targets were compared."""
        assert run() == succeeded
        first = self.compared()
        deliver_changes(self.data)
        assert run() == succeeded
        assert self.compared() == first > 0, first
        return first

    def target_rows(self) -> list[tuple[Any, ...]]:
        """The rows of the example's one target, in the backend's database."""
        [target] = self.targets
        table = f'"{target.schema}"."{target.table}"'
        return rows(self.database, table, [c[0] for c in self.database.execute(f"DESCRIBE {table}").fetchall()])

    def break_a_check(self) -> None:
        """A customer with no e-mail, which the `not_null` check of `customer_silver_daily` fails."""
        with (self.data / "bronze" / "customers_raw.csv").open("a") as stream:
            stream.write("7,Gus,Hale,,,fr,2023-07-01,2024-03-01 08:00:00,2024-03-01\n")

    def compared(self) -> int:
        """The target tables, compared: how many."""
        with duckdb.connect(str(self.reference), read_only=True) as reference:
            for dataset in self.targets:
                same_tables(reference, self.database, f'"{dataset.schema}"."{dataset.table}"')
        return len(self.targets)


def written(pipeline: Pipeline) -> list[str]:
    """The datasets `pipeline` writes, by name."""
    return sorted({w.target for w in t.walk(pipeline.steps) if isinstance(w, t.Write)})


def random_sources(pipeline: Pipeline, data: Any, *connections: duckdb.DuckDBPyConnection) -> None:
    """Every dataset `pipeline` reads and does not write, with the same drawn rows in each of `connections`
    (one `id` column where the columns are not declared)."""
    for dataset in (d for d in pipeline.datasets if d.name not in written(pipeline)):
        columns = dataset.columns or (Column(name="id", type="string"),)
        rows = data.draw(st.lists(st.tuples(*(st.sampled_from(VALUES[c.type or "string"]) for c in columns)),
                                  max_size=6))
        for connection in connections:
            connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset.schema}"')
            create_table(connection, f'"{dataset.schema}"."{dataset.table}"', columns, rows)


def same_written_tables(pipeline: Pipeline, reference: Path, database: duckdb.DuckDBPyConnection,
                        result: RunResult) -> None:
    """Each table `pipeline` writes: made on both sides or on neither, and then the same."""
    with duckdb.connect(str(reference), read_only=True) as connection:
        for dataset in (pipeline.dataset(name) for name in written(pipeline)):
            assert dataset is not None
            found = [table_exists(c, dataset.schema, dataset.table) for c in (connection, database)]
            assert found[0] == found[1], (dataset.qualified_name, "written by sparklec run, by the backend:", found,
                                          result.tasks)
            if any(found):
                same_tables(connection, database, f'"{dataset.schema}"."{dataset.table}"')
