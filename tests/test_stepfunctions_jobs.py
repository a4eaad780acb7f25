"""A pipeline on Databricks, Glue or EMR Serverless, its state machine executed as written by moto, each step's
job run doing what `sparklec-job` does, on DuckDB (`stepfunctions_standin`): a transform over an input whose
columns are not declared (its SQL made as the job runs), a check and a merge leave the table `sparklec run`
leaves over two runs, and a failing check fails the run with the target unchanged."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from sparklec.compiler.driver import load_dsl, lower, optimise
from sparklec.local import run_project
from stepfunctions_standin import run_machine
from tables import rows, same_tables

PIPELINE = """
pipeline crm_daily {
  env prod
  defaults { runtime RUNTIME }
  source raw = bronze.customers_raw
  target customers = silver.customers
  task clean = from raw | standardize_nulls(null_values: ["", "N/A"]) | drop_exact_duplicates
  task quality = check clean { not_null(customer_id, email) }
  task load = write clean into customers after quality { mode merge unique_key customer_id }
}
"""
FIRST = "customer_id,email,country\n1,a@x.io,fr\n2,b@x.io,N/A\n2,b@x.io,N/A\n"
SECOND = "customer_id,email,country\n2,b@y.io,de\n3,c@x.io,\n"
TARGET = "silver.customers"
RUNTIMES = ["databricks", "glue", "emr_serverless"]


class Both:
    """The pipeline run by `sparklec run` (the reference) and by its state machine, each on its own database."""

    def __init__(self, tmp_path: Path, runtime: str):
        project, _ = load_dsl(PIPELINE.replace("RUNTIME", runtime))
        self.project = optimise(project)
        self.machine = lower(self.project, "stepfunctions", {})["state_machine.json"]
        self.data = tmp_path / "data"
        (self.data / "bronze").mkdir(parents=True)
        self.reference = tmp_path / "run.duckdb"
        self.database = duckdb.connect(str(tmp_path / "machine.duckdb"))

    def deliver(self, csv: str) -> None:
        (self.data / "bronze" / "customers_raw.csv").write_text(csv)
        self.database.execute("CREATE SCHEMA IF NOT EXISTS bronze")
        self.database.execute("CREATE OR REPLACE TABLE bronze.customers_raw AS SELECT * FROM read_csv(?, header = true)",
                              [str(self.data / "bronze" / "customers_raw.csv")])

    def run(self) -> tuple[str, list[str]]:
        """The machine's status and the statements its jobs ran (the reference must succeed)."""
        result = run_project(self.project, data=self.data, database=self.reference)
        assert all(task.status == "succeeded" for task in result.tasks), result.tasks
        status, services = run_machine(self.machine, self.database, {})
        assert len(services.jobs.runs) == 3 if status == "SUCCEEDED" else True, services.jobs.runs
        return status, services.jobs.statements

    def same(self) -> None:
        with duckdb.connect(str(self.reference), read_only=True) as reference:
            same_tables(reference, self.database, TARGET)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_job_runs_leave_the_table_sparklec_run_leaves_over_two_runs(runtime: str, tmp_path: Path) -> None:
    both = Both(tmp_path, runtime)
    both.deliver(FIRST)
    status, statements = both.run()
    assert status == "SUCCEEDED", statements
    assert any(s.startswith("CREATE OR REPLACE VIEW crm_daily.clean") and "country" in s for s in statements), \
        "the job made the transform's SQL over the columns it found"
    both.same()
    both.deliver(SECOND)
    assert both.run()[0] == "SUCCEEDED"
    both.same()
    assert both.database.execute(f"SELECT count(*) FROM {TARGET}").fetchone() == (3,)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_failing_check_fails_the_job_run_and_the_execution_and_leaves_the_target(runtime: str, tmp_path: Path
                                                                                   ) -> None:
    both = Both(tmp_path, runtime)
    both.deliver(FIRST)
    assert both.run()[0] == "SUCCEEDED"
    names = [c[0] for c in both.database.execute(f"DESCRIBE {TARGET}").fetchall()]
    before = rows(both.database, TARGET, names)
    both.deliver(SECOND + "4,,es\n")  # no e-mail: not_null fails
    status, services = run_machine(both.machine, both.database, {})
    assert status == "FAILED"
    assert [run["state"]["result_state"] for run in services.jobs.runs] == ["SUCCESS", "FAILED"]
    assert rows(both.database, TARGET, names) == before
