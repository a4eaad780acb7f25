"""The examples whose state machines run containers in a Map, choose on a parameter, ingest and score with
jobs of the user's, and start one another, executed by moto (`stepfunctions_standin`): the tables they
leave are those `sparklec run` leaves, over two runs, and the containers run once per item, after what
they wait for, retried and failing the run as the definition says."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import EXAMPLES
from dbt_harness import DATA, deliver_changes
from sparklec.compiler.driver import load, lower, optimise
from sparklec.ir import Project
from sparklec.local import run_project
from sparklec.local.engine import pipeline_order, table_exists
from stepfunctions_standin import Containers, made_first, run_machine
from tables import same_tables
from oracle import customer_project_twice, own_jobs, written_tables


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


def test_each_partitions_results_reach_the_aggregation_through_s3(tmp_path: Path) -> None:
    project, artifacts = compiled("partition_fanout")
    definition = machine(artifacts, project, "partition_fanout")
    seen: list[list[str]] = []

    def acts(command: list[str], files: dict[str, str]) -> None:
        if command[:2] == ["python", "-c"]:
            seen.append(sorted(files))
        else:
            files["/tmp/results/pi.txt"] = f"partition {command[-1]}"
    containers = Containers(acts=acts)
    assert run_machine(definition, duckdb.connect(str(tmp_path / "machine.duckdb")), {}, containers)[0] == "SUCCEEDED"
    assert containers.s3 == {f"s3://data-bucket/results/{i}/pi.txt": f"partition {i}" for i in range(10)}
    assert seen == [[f"/tmp/inputs/{i}/pi.txt" for i in range(10)]], "one aggregation, after all ten uploads"


def test_customer_project_leaves_the_tables_sparklec_run_leaves_its_machines_run_in_order(tmp_path: Path) -> None:
    """The five machines of the project, run in dependency order twice with new rows in between: every table
    `sparklec run` writes is the same; the scores, which it cannot make, are the user's scoring job's."""
    project, artifacts = compiled("customer_project")
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    reference, database = tmp_path / "run.duckdb", duckdb.connect(str(tmp_path / "machine.duckdb"))

    def machines() -> None:
        with duckdb.connect(str(reference), read_only=True) as connection:
            made = [d for d in written_tables(project).values() if table_exists(connection, d.schema, d.table)]
        made_first(database, reference, made)  # the Athena targets; the Delta one makes itself
        for pipeline in pipeline_order(project):
            status, services = run_machine(machine(artifacts, project, pipeline.name), database, {}, None,
                                           own_jobs(data))
            assert status == "SUCCEEDED", (pipeline.name, services.jobs.runs)
    customer_project_twice(project, data, reference, database, machines)


FILE_ARTIFACTS = '''pipeline report {
  defaults { runtime k8s }
  task render = container "python:3.12-slim" {
    command ["python", "render.py"]
    output report "/tmp/report.json"
  }
  task publish = container "python:3.12-slim" after render {
    command ["python", "publish.py"]
    input report "/tmp/report.json" from render.report
  }
}
'''


def test_a_file_passed_between_tasks_is_kept_under_the_run_in_the_artifact_bucket(tmp_path: Path) -> None:
    from sparklec.frontends.dsl import parse

    definition = lower(optimise(parse(FILE_ARTIFACTS)), "stepfunctions", {})["state_machine.json"]
    seen: list[dict[str, str]] = []

    def acts(command: list[str], files: dict[str, str]) -> None:
        if command[-1] == "render.py":
            files["/tmp/report.json"] = '{"status": "ok"}'
        else:
            seen.append(dict(files))
    containers = Containers(acts=acts)
    assert run_machine(definition, duckdb.connect(str(tmp_path / "machine.duckdb")), {}, containers)[0] == "SUCCEEDED"
    [(url, text)] = containers.s3.items()
    assert url.startswith("s3://placeholder/report/") and url.endswith("/render/report") and len(url) > 40
    assert seen == [{"/tmp/report.json": '{"status": "ok"}'}]


@pytest.mark.parametrize("written, instead, warning", [
    ("runtime k8s", "runtime ecs", "Step Functions moves artifacts for Kubernetes jobs, not on ECS"),
    ('"/tmp/report.json"\n', '"/tmp/report.json" gcs "gs://bucket/report.json"\n', "it is kept on gcs"),
])
def test_artifacts_step_functions_cannot_move_are_warned_of(written: str, instead: str, warning: str) -> None:
    from sparklec.frontends.dsl import parse

    artifacts = lower(optimise(parse(FILE_ARTIFACTS.replace(written, instead, 1))), "stepfunctions", {})
    assert [n.code for n in artifacts.notes] == ["W404", "W404"]
    assert all(warning in n.message for n in artifacts.notes), artifacts.notes
    assert "-artifact-" not in artifacts["state_machine.json"], "nothing is moved"


def test_reading_an_artifact_made_in_a_loop_from_outside_it_is_an_error() -> None:
    from sparklec.diagnostics import LoweringError
    from sparklec.frontends.dsl import parse

    looped = FILE_ARTIFACTS.replace("  task render", '  foreach day in ["mon", "tue"] as days {\n  task render')
    looped = looped.replace("  }\n  task publish", "  }\n  }\n  task publish")
    with pytest.raises(LoweringError) as raised:
        lower(optimise(parse(looped)), "stepfunctions", {})
    [diagnostic] = raised.value.diagnostics
    assert diagnostic.code == "E402" and "from inside the loop of `day`" in diagnostic.message, diagnostic.message
