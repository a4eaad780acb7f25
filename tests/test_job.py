"""`sparklec-job`, what runs a task on Databricks, Glue and EMR Serverless: its arguments, its statements, and
the SQL it makes as it runs when the compiler could not (Spark runs it in test_spark)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jsonschema.validators import validator_for

from conftest import COMPILED_SOURCES, SHARED
from sparklec import job
from sparklec.backends.argo.steps import PROFILE as ARGO
from sparklec.backends.jobs import DATABRICKS_JOB
from sparklec.backends.stepfunctions.integrations import PROFILE as STEP_FUNCTIONS
from sparklec.compiler.driver import load, load_dsl, lower, optimise
from sparklec.ir import Column
from sparklec.ir import tasks as t
from sparklec.lowering import Job, build_plans, work_database
from sparklec.sql.tasks import TaskSql

PIPELINE = """
pipeline etl {
  env prod
  source raw = bronze.customers
  target clean_customers = silver.customers
  task clean = from raw | standardize_nulls(null_values: ["", "N/A"]) | add_audit_columns()
  task load = write clean into clean_customers { mode merge  unique_key id }
}
"""


def arguments(task_name: str, dialect: str = "spark") -> dict[str, str]:
    project, _ = load_dsl(PIPELINE)
    pipeline = optimise(project).pipelines[0]
    task = next(s for s in t.walk(pipeline.steps) if s.name == task_name)
    assert isinstance(task, t.Task)
    return TaskSql(pipeline, dialect, work_database(pipeline)).job_arguments(task)


def test_arguments_come_as_pairs_or_with_equals_signs() -> None:
    assert job.arguments(["--task", "write", "--sql=SELECT 1; SELECT 2", "--input", "a.b"]) == {
        "task": "write", "sql": "SELECT 1; SELECT 2", "input": "a.b"}
    for bad in (["task"], ["--task"]):
        with pytest.raises(SystemExit):
            job.arguments(bad)
    with pytest.raises(SystemExit, match="--spec is missing"):
        job.statements({"task": "transform"}, lambda table: ())


def test_statements_split_outside_strings_and_comments() -> None:
    assert job.split("INSERT INTO t VALUES ('a;b'); -- a ; comment\nSELECT 1;") == [
        "INSERT INTO t VALUES ('a;b')", "-- a ; comment\nSELECT 1"]


def test_without_sql_the_job_makes_it_over_the_columns_the_input_has_as_it_runs() -> None:
    given = arguments("clean")
    assert "sql" not in given, "Apache Spark needs the input's columns for this chain"
    assert (given["input"], given["target"]) == ("bronze.customers", "etl.clean")
    seen: list[str] = []

    def columns(table: str) -> tuple[Column, ...]:
        seen.append(table)
        return (Column(name="id", type="bigint"), Column(name="email", type="string"))

    made = job.statements(given, columns)
    assert seen == ["bronze.customers"]
    assert made[0] == "CREATE SCHEMA IF NOT EXISTS etl"
    assert made[1].startswith("CREATE OR REPLACE VIEW etl.clean AS")
    assert "CASE WHEN email IN ('', 'N/A') THEN NULL ELSE email END AS email" in made[1]
    assert "id" in made[1] and "EXCEPT" not in made[1]


def test_a_column_the_chain_would_add_twice_fails_the_job_as_it_fails_sparklec_run() -> None:
    with pytest.raises(SystemExit) as error:
        job.statements(arguments("clean"), lambda table: (Column(name="id"), Column(name="updated_at")))
    assert str(error.value).startswith("sparklec-job: clean: `add_audit_columns` adds column `updated_at`, which "
                                       "already exists [E206]")


def test_a_write_names_its_target_and_runs_the_sql_it_was_given() -> None:
    given = arguments("load", "databricks")
    assert given["target"] == "silver.customers" and given["dialect"] == "databricks"
    session = Session()
    assert job.main([item for key, value in given.items() for item in (f"--{key}", value)], session) == 0
    assert session.ran == job.split(given["sql"]) and len(session.ran) >= 2


@dataclass
class Session:
    """The parts of a Spark session the job uses, recording the statements it runs."""

    ran: list[str] = field(default_factory=list)

    def sql(self, statement: str) -> Any:
        self.ran.append(statement)
        return self

    def collect(self) -> list[Any]:
        return []


@pytest.mark.parametrize("backend", ["stepfunctions", "argo"])
def test_the_databricks_job_is_a_valid_job_with_a_parameter_for_every_argument_a_step_gives(
        backend: str, tmp_path: Path) -> None:
    """Databricks' bundle schema accepts each job definition, and run-now never passes a parameter it lacks."""
    text = (SHARED / "schemas" / "databricks-bundle.schema.json").read_text()
    schema = json.loads(text.replace("[\\\\p{L}\\\\p{N}]", "\\\\w").replace("\\\\p{L}", "[^\\\\W\\\\d_]"))  # for re
    validator = validator_for(schema)(schema)
    assert list(validator.iter_errors({"resources": {"jobs": {"sparklec": {"max_concurrent_runs": "many"}}}}))
    checked = 0
    for name, source in COMPILED_SOURCES.items():
        project, _ = load([source], environ={})
        project = optimise(project)
        artifacts = lower(project, backend, {})
        plans = {plan.pipeline: plan for plan in build_plans(project, STEP_FUNCTIONS if backend == "stepfunctions"
                                                              else ARGO)}
        for path, text in artifacts.items():
            if not path.endswith(DATABRICKS_JOB):
                continue
            definition = json.loads(text)
            problems = [e.message for e in validator.iter_errors({"resources": {"jobs": {"sparklec": definition}}})]
            assert not problems, (name, path, problems)
            parameters = {p["name"] for p in definition["parameters"]}
            assert set(definition["tasks"][0]["python_wheel_task"]["named_parameters"]) == parameters
            plan = plans[path.rsplit("/", 2)[-2]] if "/" in path else next(iter(plans.values()))
            given = {key for task in plan.tasks() if isinstance(task.action, Job) and task.runtime == "databricks"
                     for key, _ in task.action.arguments}
            assert given == parameters, (name, path)
            checked += 1
    assert checked >= 3, checked
