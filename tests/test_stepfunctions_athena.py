"""The Step Functions state machines of the examples that run on Athena, executed as written by moto with
their queries run on DuckDB (`stepfunctions_standin`), leave the tables `sparklec run` leaves: over two runs
with new and changed rows in between, and a failing check fails the run and leaves the targets as they were."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from oracle import Example, random_sources, same_written_tables, written
from sparklec.compiler.driver import lower, optimise
from sparklec.diagnostics import LoweringError
from sparklec.ir import Dataset, Pipeline, Project
from sparklec.ir import tasks as t
from sparklec.local import run_project
from sparklec.local.engine import table_exists
from sparklec.testing import on_default_runtime, pipelines
from stepfunctions_standin import run_machine

ATHENA_EXAMPLES = ["customer_silver_daily", "gold_aggregate", "scd2_dimension", "silver_transformation"]
"""The examples whose every task runs on Athena (or is a Step Functions state)."""


class Both(Example):
    """One example run by `sparklec run` (the reference) and by its state machine, each on its own database."""

    def __init__(self, name: str, tmp_path: Path):
        super().__init__(name, tmp_path, "machine")
        self.machine = lower(self.project, "stepfunctions", {})["state_machine.json"]

    def run(self) -> str:
        """Both runs (the reference must succeed); the machine's status."""
        self.run_reference()
        self.land()
        status, _ = run_machine(self.machine, self.database, {})
        return status

    def land(self) -> None:
        """The sources as the data folder has them; the targets, when missing, as empty tables."""
        super().land()
        made_first(self.database, self.reference, self.targets)


def made_first(database: duckdb.DuckDBPyConnection, reference: Path, targets: list[Dataset]) -> None:
    """The `targets` missing in `database`, made empty with the columns the reference gave them, as Athena's
    Iceberg targets must be made before the first run."""
    missing = [d for d in targets if not table_exists(database, d.schema, d.table)]
    database.execute(f"ATTACH '{reference}' AS reference (READ_ONLY)")
    for dataset in missing:
        database.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset.schema}"')
        database.execute(f'CREATE TABLE "{dataset.schema}"."{dataset.table}" AS SELECT * FROM '
                         f'reference."{dataset.schema}"."{dataset.table}" LIMIT 0')
    database.execute("DETACH reference")


@pytest.mark.parametrize("name", ATHENA_EXAMPLES)
def test_the_state_machine_leaves_the_tables_sparklec_run_leaves_over_two_runs(name: str, tmp_path: Path) -> None:
    both = Both(name, tmp_path)
    both.twice(both.run, "SUCCEEDED")


def test_a_failing_check_fails_the_run_and_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    both = Both("customer_silver_daily", tmp_path)
    assert both.run() == "SUCCEEDED"
    before = both.target_rows()
    both.break_a_check()
    both.land()
    status, services = run_machine(both.machine, both.database, {})
    athena = services.athena
    assert status == "FAILED" and before == both.target_rows(), status
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
    if not written(pipeline):
        reject()  # nothing to compare
    with tempfile.TemporaryDirectory() as folder:
        reference, database = Path(folder) / "run.duckdb", duckdb.connect(str(Path(folder) / "machine.duckdb"))
        with duckdb.connect(str(reference)) as connection:
            random_sources(pipeline, data, connection, database)
        result = run_project(project, database=reference)
        if any("not available in duckdb" in task.detail for task in result.tasks):
            reject()  # the reference cannot say it (SHA-512)
        with duckdb.connect(str(reference), read_only=True) as connection:
            made = [d for d in pipeline.datasets if d.name in written(pipeline)
                    and table_exists(connection, d.schema, d.table)]
        made_first(database, reference, made)
        run_machine(machine, database, {})
        same_written_tables(pipeline, reference, database, result)
        database.close()
