"""The examples whose state machines run containers in a Map, choose on a parameter, ingest and score with
jobs of the user's, and start one another, executed by moto (`stepfunctions_standin`): the tables they
leave are those `sparklec run` leaves, over two runs, and the containers run once per item, after what
they wait for, retried and failing the run as the definition says."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from conftest import EXAMPLES
from dbt_harness import DATA, deliver_changes
from sparklec.compiler.driver import load, lower, optimise
from sparklec.ir import Project
from sparklec.local import run_project
from sparklec.local.engine import pipeline_order, table_exists
from stepfunctions_standin import Containers, made_first, run_machine
from tables import same_tables
from oracle import own_jobs, written_tables


def compiled(name: str) -> tuple[Project, dict[str, str]]:
    project = optimise(load([EXAMPLES / "dsl" / f"{name}.spk"], environ={})[0])
    return project, lower(project, "stepfunctions", {})


def machine(artifacts: dict[str, str], project: Project, pipeline: str) -> str:
    return artifacts["state_machine.json" if len(project.pipelines) == 1 else f"{pipeline}/state_machine.json"]


def test_customer_etl_leaves_the_tables_runs_a_container_per_partition_and_chooses_on_the_parameter(
        tmp_path: Path) -> None:
    project, artifacts = compiled("customer_etl")
    definition = machine(artifacts, project, "customer_etl")
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    reference, database = tmp_path / "run.duckdb", duckdb.connect(str(tmp_path / "machine.duckdb"))
    targets = written_tables(project)
    for execution_input, published in (({}, False), ({"environment": "prod"}, True)):
        assert all(task.status != "failed" for task in run_project(project, data=data, database=reference).tasks)
        containers = Containers()
        status, services = run_machine(definition, database, execution_input, containers, own_jobs(data))
        assert status == "SUCCEEDED", services.jobs.runs
        with duckdb.connect(str(reference), read_only=True) as connection:
            for table in targets:
                same_tables(connection, database, table)
        assert sorted(command[-1] for command in containers.commands) == [str(i) for i in range(10)]
        assert [r["state"]["result_state"] for r in services.jobs.runs] == ["SUCCESS"] * 4, "ingest, stage, " \
            "transform, write: each a run of its own"
        assert ("production_path" in services.entered, "development_path" in services.entered) == (
            published, not published), "the Choice on `environment`"
        assert services.entered.index("process_partitions") > services.entered.index("write_clean")
        deliver_changes(data)
    assert len(targets) == 2, targets


def test_a_partition_failing_past_its_retries_fails_the_run_before_the_aggregation(tmp_path: Path) -> None:
    project, artifacts = compiled("partition_fanout")
    definition = machine(artifacts, project, "partition_fanout")
    database = duckdb.connect(str(tmp_path / "machine.duckdb"))
    containers = Containers()
    assert run_machine(definition, database, {}, containers)[0] == "SUCCEEDED"
    assert sorted(c[-1] for c in containers.commands[:10]) == [str(i) for i in range(10)]
    assert containers.commands[10][:2] == ["python", "-c"] and len(containers.commands) == 11, "the aggregation last"
    failing = Containers(fails=lambda command: command[-1] == "3")
    assert run_machine(definition, database, {}, failing)[0] == "FAILED"
    assert sum(c[-1] == "3" for c in failing.commands) == 4, "the first attempt and three retries"
    assert not any(c[:2] == ["python", "-c"] for c in failing.commands), "no aggregation after a failed partition"


def test_customer_project_leaves_the_tables_sparklec_run_leaves_its_machines_run_in_order(tmp_path: Path) -> None:
    """The five machines of the project, run in dependency order twice with new rows in between: every table
    `sparklec run` writes is the same; the scores, which it cannot make, are the user's scoring job's."""
    project, artifacts = compiled("customer_project")
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    reference, database = tmp_path / "run.duckdb", duckdb.connect(str(tmp_path / "machine.duckdb"))
    for _ in range(2):
        result = run_project(project, data=data, database=reference)
        with duckdb.connect(str(reference), read_only=True) as connection:
            made = [d for d in written_tables(project).values() if table_exists(connection, d.schema, d.table)]
        made_first(database, reference, made)  # the Athena targets; the Delta one makes itself
        for pipeline in pipeline_order(project):
            status, services = run_machine(machine(artifacts, project, pipeline.name), database, {}, None,
                                           own_jobs(data))
            assert status == "SUCCEEDED", (pipeline.name, services.jobs.runs)
        compared = 0
        with duckdb.connect(str(reference), read_only=True) as connection:
            for table in written_tables(project):
                if table == "ml.churn_scores":
                    continue
                same_tables(connection, database, table)
                compared += 1
        assert compared == 4, result.tasks
        assert database.execute("SELECT count(*), min(prediction) FROM ml.churn_scores").fetchone() == (
            database.execute("SELECT count(*) FROM features.customer_features").fetchone()[0], 0.5)  # type: ignore
        landed = data / "landing_postgres_crm" / "customers.csv"  # a customer changes, one arrives
        landed.write_text(landed.read_text().replace("bob@shop.fr", "bob@shop.com")
                          + "9,Ivy,Ng,ivy@example.org,,,NL,2023-09-01,2024-03-01 09:00:00,2024-03-01,2024-03-01 09:00:00\n")
