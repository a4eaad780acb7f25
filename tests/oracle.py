"""What the execution oracles of the orchestrators share: an example run by `sparklec run` (the reference) and
by a backend's output, each on a database of its own, and random pipelines' sources over messy rows."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import duckdb
from hypothesis import event, reject
from hypothesis import strategies as st

from conftest import EXAMPLES
from dbt_harness import DATA, deliver_changes
from messy_data import VALUES, create_table
from sparklec.compiler.driver import load, optimise
from sparklec.ir import Column, Dataset, Pipeline, Project
from sparklec.ir import tasks as t
from sparklec.frontends.dsl.printer import print_project
from sparklec.ir.serialize import from_json
from sparklec.local import RunResult, run_project
from sparklec.local.engine import table_exists
from sparklec.sql.tasks import landing_table
from sparklec.testing import on_default_runtime
from stepfunctions_standin import OwnJob
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


def written_tables(project: Project) -> dict[str, Dataset]:
    """The tables the pipelines of `project` write, by `schema.table`."""
    return {f"{d.schema}.{d.table}": d for p in project.pipelines for name in written(p)
            if (d := p.dataset(name)) is not None}


def writers(project: Project, table: str) -> set[tuple[str, str]]:
    """The (pipeline, task) of the writes into `table` (`schema.table`)."""
    return {(p.name, w.name) for p in project.pipelines for w in t.walk(p.steps) if isinstance(w, t.Write)
            and (d := p.dataset(w.target)) is not None and f"{d.schema}.{d.table}" == table}


def random_sources(project: Project, data: Any, *connections: duckdb.DuckDBPyConnection) -> None:
    """Every table the pipelines of `project` read and none writes, (re)made with the same drawn rows in each of
    `connections` (one `id` column where the columns are not declared)."""
    made = set(written_tables(project))
    for dataset in (d for p in project.pipelines for d in p.datasets):
        if f"{dataset.schema}.{dataset.table}" in made:
            continue
        made.add(f"{dataset.schema}.{dataset.table}")
        columns = dataset.columns or (Column(name="id", type="string"),)
        rows = data.draw(st.lists(st.tuples(*(st.sampled_from(VALUES[c.type or "string"]) for c in columns)),
                                  max_size=6))
        for connection in connections:
            connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset.schema}"')
            connection.execute(f'DROP TABLE IF EXISTS "{dataset.schema}"."{dataset.table}"')
            create_table(connection, f'"{dataset.schema}"."{dataset.table}"', columns, rows)


def same_written_tables(project: Project, reference: Path, database: duckdb.DuckDBPyConnection,
                        result: RunResult) -> int:
    """Each table `project` writes: made on both sides or on neither (or, by the backend, empty when its writer
    failed), and then the same; how many were made on both."""
    made = 0
    failed = {(task.pipeline, task.name) for task in result.tasks if task.status == "failed"}
    with duckdb.connect(str(reference), read_only=True) as connection:
        for name, dataset in written_tables(project).items():
            found = [table_exists(c, dataset.schema, dataset.table) for c in (connection, database)]
            if found == [False, True] and failed & writers(project, name) and not database.execute(
                    f'SELECT count(*) FROM "{dataset.schema}"."{dataset.table}"').fetchone()[0]:  # type: ignore[index]
                continue  # made empty by its failed writer, where a write's statements are not one transaction
            assert found[0] == found[1], (name, "written by sparklec run, by the backend:", found, result.tasks)
            if any(found):
                same_tables(connection, database, f'"{dataset.schema}"."{dataset.table}"')
                made += 1
    return made


Backend = Callable[[Project, Path, Path], None]
"""Runs a project's compiled output on the database at the first path (the reference's at the second)."""


def twice_at_random(project: Project, data: Any, backend: Backend, stops_at_a_failure: bool = False) -> int:
    """`project` run twice by `sparklec run` and by `backend`, each on its own database, its sources drawn anew
    before each run (new and changed rows); the tables both made, compared after each run: how many.

    Rejects the example when the reference cannot run it (SHA-512), when a task fails and the backend
    `stops_at_a_failure` (where `sparklec run` still runs what does not need the failed task), or when nothing
    was made to compare."""
    compared, runs = 0, []
    with tempfile.TemporaryDirectory() as folder:
        reference, database = Path(folder) / "run.duckdb", Path(folder) / "backend.duckdb"
        for _ in range(2):
            with duckdb.connect(str(reference)) as ours, duckdb.connect(str(database)) as theirs:
                random_sources(project, data, ours, theirs)
            result = run_project(project, database=reference)
            if any("not available in duckdb" in task.detail for task in result.tasks):
                reject()  # the reference cannot say it (SHA-512)
            if stops_at_a_failure and any(task.status == "failed" for task in result.tasks):
                reject()  # what else runs after a failure differs
            backend(project, database, reference)
            with duckdb.connect(str(database)) as theirs:
                try:
                    compared += same_written_tables(project, reference, theirs, result)
                except AssertionError as error:
                    raise AssertionError(f"{error}\nin run {len(runs) + 1} of\n{print_project(project)}") from None
            runs.append(result)
    if not compared:
        reject()  # nothing made on either side: a run that compares nothing proves nothing
    event(f"{len(project.pipelines)} pipeline(s), {compared} table(s) compared over two runs")
    if any(task.status == "failed" for result in runs for task in result.tasks):
        event("a task failed in a run compared")
    return compared


def random_project(project: Project) -> Project:
    """`project` on the target's own runtime, optimised; rejected when two pipelines write one table or nothing
    is written."""
    project = optimise(attrs.evolve(project, pipelines=tuple(on_default_runtime(p) for p in project.pipelines)))
    tables = [f"{d.schema}.{d.table}" for p in project.pipelines for name in written(p)
              if (d := p.dataset(name)) is not None]
    if not tables or len(tables) != len(set(tables)):
        reject()  # nothing to compare, or two writers of one table whose order no one fixed
    return project


def customer_project_twice(project: Project, data: Path, reference: Path, database: duckdb.DuckDBPyConnection,
                           orchestrate: Callable[[], None]) -> None:
    """The customer project run by `sparklec run` into `reference` and by `orchestrate` (its pipelines, in
    dependency order, on `database`), twice, with a changed and a new CRM customer in between: the 4 tables
    `sparklec run` writes are the same after each run; the scores, which it cannot make, are the user's
    scoring job's (one half for every customer with features)."""
    landed = data / "landing_postgres_crm" / "customers.csv"
    for _ in range(2):
        result = run_project(project, data=data, database=reference)
        orchestrate()
        compared = [table for table in written_tables(project) if table != "ml.churn_scores"]
        with duckdb.connect(str(reference), read_only=True) as connection:
            for table in compared:
                same_tables(connection, database, table)
        assert len(compared) == 4, result.tasks
        assert database.execute("SELECT count(*), min(prediction) FROM ml.churn_scores").fetchone() == (
            database.execute("SELECT count(*) FROM features.customer_features").fetchone()[0], 0.5)  # type: ignore
        landed.write_text(landed.read_text().replace("bob@shop.fr", "bob@shop.com")
                          + "9,Ivy,Ng,ivy@example.org,,,NL,2023-09-01,2024-03-01 09:00:00,2024-03-01,2024-03-01 09:00:00\n")


def own_jobs(data: Path) -> dict[str, OwnJob]:
    """The user's jobs: an ingestion landing the rows of the source system's table as `sparklec run` finds them
    (`landing_<system>/<table>.csv`), and a scoring that gives every row a score of one half."""

    def ingest(given: dict[str, str], connection: duckdb.DuckDBPyConnection) -> None:
        task = from_json(given["spec"])
        assert isinstance(task, t.Ingest)
        schema, table = landing_table(task)
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {given['target'].split('.')[0]}")
        connection.execute(f"CREATE OR REPLACE TABLE {given['target']} AS SELECT * FROM read_csv(?, header = true)",
                           [str(data / schema / f"{table}.csv")])

    def score(given: dict[str, str], connection: duckdb.DuckDBPyConnection) -> None:
        target, scored = (".".join(given[key].split(".")[-2:]) for key in ("target", "input"))  # no catalog
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {target.split('.')[0]}")
        connection.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT *, 0.5 AS prediction FROM {scored}")

    return {"ingest": ingest, "score": score}
