"""The Step Functions state machines of the examples that run on Athena, executed as written by moto with
their queries run on DuckDB (`stepfunctions_standin`), leave the tables `sparklec run` leaves: over two runs
with new and changed rows in between, and a failing check fails the run and leaves the targets as they were."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from conftest import EXAMPLES
from dbt_harness import DATA, deliver_changes
from messy_data import VALUES, create_table
from sparklec.compiler.driver import load, lower, optimise
from sparklec.diagnostics import LoweringError
from sparklec.ir import Column, Pipeline, Project
from sparklec.ir import tasks as t
from sparklec.local import run_project
from sparklec.local.engine import table_exists
from sparklec.testing import on_default_runtime, pipelines
from stepfunctions_standin import run_machine
from tables import rows, same_tables

ATHENA_EXAMPLES = ["customer_silver_daily", "gold_aggregate", "scd2_dimension", "silver_transformation"]
"""The examples whose every task runs on Athena (or is a Step Functions state)."""


class Both:
    """One example run by `sparklec run` (the reference) and by its state machine, each on its own database."""

    def __init__(self, name: str, tmp_path: Path):
        self.project = optimise(load([EXAMPLES / "dsl" / f"{name}.spk"], environ={})[0])
        [self.pipeline] = self.project.pipelines
        self.machine = lower(self.project, "stepfunctions", {})["state_machine.json"]
        self.data = tmp_path / "data"
        shutil.copytree(DATA, self.data)
        self.reference = tmp_path / "run.duckdb"
        self.machine_database = duckdb.connect(str(tmp_path / "machine.duckdb"))
        written = {w.target for w in t.walk(self.pipeline.steps) if isinstance(w, t.Write)}
        self.targets = [d for d in self.pipeline.datasets if d.name in written]
        self.sources = [d for d in self.pipeline.datasets if d.name not in written]

    def run(self) -> str:
        """Both runs (the reference must succeed); the machine's status."""
        result = run_project(self.project, data=self.data, database=self.reference)
        assert all(task.status != "failed" for task in result.tasks), result.tasks
        self.land()
        status, _ = run_machine(self.machine, self.machine_database, {})
        return status

    def land(self) -> None:
        """The sources as the data folder has them; the targets, when missing, as empty tables."""
        for dataset in self.sources:
            csv = self.data / dataset.schema / f"{dataset.table}.csv"
            self.machine_database.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset.schema}"')
            self.machine_database.execute(f'CREATE OR REPLACE TABLE "{dataset.schema}"."{dataset.table}" AS '
                                          "SELECT * FROM read_csv(?, header = true)", [str(csv)])
        self.machine_database.execute(f"ATTACH '{self.reference}' AS reference (READ_ONLY)")
        for dataset in self.targets:  # Athena writes into tables made before the first run (Iceberg, on AWS)
            self.machine_database.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset.schema}"')
            self.machine_database.execute(
                f'CREATE TABLE IF NOT EXISTS "{dataset.schema}"."{dataset.table}" AS '
                f'SELECT * FROM reference."{dataset.schema}"."{dataset.table}" LIMIT 0')
        self.machine_database.execute("DETACH reference")

    def compared(self) -> int:
        """The target tables, compared: how many."""
        reference = duckdb.connect(str(self.reference), read_only=True)
        for dataset in self.targets:
            same_tables(reference, self.machine_database, f'"{dataset.schema}"."{dataset.table}"')
        reference.close()
        return len(self.targets)


@pytest.mark.parametrize("name", ATHENA_EXAMPLES)
def test_the_state_machine_leaves_the_tables_sparklec_run_leaves_over_two_runs(name: str, tmp_path: Path) -> None:
    both = Both(name, tmp_path)
    assert both.run() == "SUCCEEDED"
    first = both.compared()
    deliver_changes(both.data)
    assert both.run() == "SUCCEEDED"
    assert both.compared() == first > 0, first


def test_a_failing_check_fails_the_run_and_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    both = Both("customer_silver_daily", tmp_path)
    assert both.run() == "SUCCEEDED"
    [target] = both.targets
    table = f'"{target.schema}"."{target.table}"'
    names = [c[0] for c in both.machine_database.execute(f"DESCRIBE {table}").fetchall()]
    before = rows(both.machine_database, table, names)
    with (both.data / "bronze" / "customers_raw.csv").open("a") as stream:  # no e-mail: not_null fails
        stream.write("7,Gus,Hale,,,fr,2023-07-01,2024-03-01 08:00:00,2024-03-01\n")
    both.land()
    status, services = run_machine(both.machine, both.machine_database, {})
    athena = services.athena
    assert status == "FAILED" and before == rows(both.machine_database, table, names), status
    assert not any(q.startswith(("DELETE", "INSERT", "MERGE")) for q in athena.queries[athena.queries.index(
        next(q for q in athena.queries if "COUNT(*)" in q)):]), "nothing is written after the check"


@settings(max_examples=max(3, settings().max_examples // 10), deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(pipelines(max_steps=8), st.data())
def test_the_state_machine_of_a_random_pipeline_leaves_the_tables_sparklec_run_leaves(pipeline: Pipeline,
                                                                                      data: st.DataObject) -> None:
    """Random pipelines over messy rows, their SQL on Athena: every table `sparklec run` writes, the state
    machine leaves the same (its targets made empty before it runs, as Athena's must be)."""
    if any(isinstance(task, (t.Ingest, t.Train, t.Score, t.Container, t.Script, t.Approval, t.KubernetesResource))
           for task in t.walk(pipeline.steps)):
        reject()  # tasks that run elsewhere than Athena and Step Functions
    pipeline = on_default_runtime(pipeline)  # Athena
    project = optimise(Project(name=pipeline.name, pipelines=(pipeline,)))
    try:
        machine = lower(project, "stepfunctions", {})["state_machine.json"]
    except LoweringError:
        reject()  # SQL Athena cannot say without the columns: an error of its own
    [pipeline] = project.pipelines
    written = {w.target for w in t.walk(pipeline.steps) if isinstance(w, t.Write)}
    if not written:
        reject()  # nothing to compare
    with tempfile.TemporaryDirectory() as folder:
        reference, database = Path(folder) / "run.duckdb", duckdb.connect(str(Path(folder) / "machine.duckdb"))
        sources = [d for d in pipeline.datasets if d.name not in written]
        with duckdb.connect(str(reference)) as connection:
            for dataset in sources:
                columns = dataset.columns or (Column(name="id", type="string"),)
                rows_ = data.draw(st.lists(st.tuples(*(st.sampled_from(VALUES[c.type or "string"]) for c in columns)),
                                           max_size=6))
                for target in (connection, database):
                    target.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset.schema}"')
                    create_table(target, f'"{dataset.schema}"."{dataset.table}"', columns, rows_)
        result = run_project(project, database=reference)
        if any("not available in duckdb" in task.detail for task in result.tasks):
            reject()  # the reference cannot say it (SHA-512)
        with duckdb.connect(str(reference), read_only=True) as connection:
            made = [d for d in (pipeline.dataset(name) for name in sorted(written)) if d is not None
                    and table_exists(connection, d.schema, d.table) and not table_exists(database, d.schema, d.table)]
        database.execute(f"ATTACH '{reference}' AS reference (READ_ONLY)")
        for dataset in made:  # made before the first run, as Athena's Iceberg targets must be (empty)
            database.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset.schema}"')
            database.execute(f'CREATE TABLE "{dataset.schema}"."{dataset.table}" AS SELECT * FROM '
                             f'reference."{dataset.schema}"."{dataset.table}" LIMIT 0')
        database.execute("DETACH reference")
        run_machine(machine, database, {})
        with duckdb.connect(str(reference), read_only=True) as connection:
            for dataset in (pipeline.dataset(name) for name in sorted(written)):
                assert dataset is not None
                found = [table_exists(c, dataset.schema, dataset.table) for c in (connection, database)]
                assert found[0] == found[1], (dataset.qualified_name, "written by sparklec run, by the machine:",
                                              found, result.tasks)
                if any(found):
                    same_tables(connection, database, f'"{dataset.schema}"."{dataset.table}"')
        database.close()
