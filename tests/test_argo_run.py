"""Argo workflows executed: the executor's semantics on small workflows, then the WorkflowTemplates of the
examples run with their `spark-sql` pods' SQL on DuckDB, leaving the tables `sparklec run` leaves over two
runs, and a failing check failing the workflow with the target unchanged and the alert sent."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from hypothesis import HealthCheck, given, reject
from hypothesis import settings as examples
from hypothesis import strategies as st

from argo_executor import ArgoError, Executor
from conftest import COMPILED_SOURCES, EXAMPLES
from dbt_harness import DATA
from spark_on_duckdb import SparkOnDuckDB
from stepfunctions_standin import JobsOnDuckDB, OwnJob
from sparklec import job
from oracle import Example, customer_project_twice, own_jobs, random_project, twice_at_random
from sparklec.compiler.driver import load, lower, optimise
from sparklec.diagnostics import LoweringError
from sparklec.ir import Project
from sparklec.local.engine import pipeline_order
from sparklec.testing import TASK_KINDS, projects

# --- the executor on small workflows ---------------------------------------------------------------------


def workflow(templates: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"w": {"spec": {"entrypoint": "main", "templates": templates, **spec}}}


def pod(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "container": {"image": "busybox", "args": [name]}, **extra}


class Pods:
    """Pods that print their last argument and fail when it is in `failing` (every attempt, or the first ones)."""

    def __init__(self, failing: dict[str, int] | None = None):
        self.failing, self.ran = failing or {}, []

    def __call__(self, template: dict[str, Any]) -> tuple[bool, str]:
        said = template["container"]["args"][-1]
        self.ran.append(said)
        if self.failing.get(said, 0) > 0:
            self.failing[said] -= 1
            return False, ""
        return True, said


def test_depends_omits_what_waits_on_a_failure_and_runs_what_waits_on_it() -> None:
    tasks = [{"name": "a", "template": "a"}, {"name": "b", "template": "b", "depends": "a"},
             {"name": "c", "template": "c", "depends": "a.Failed"}, {"name": "d", "template": "d", "depends": "b || c"}]
    for fail_fast, ran in ((False, ["a", "c", "d"]), (True, ["a"])):
        pods = Pods({"a": 99})
        spec = workflow([{"name": "main", "dag": {"tasks": tasks, "failFast": fail_fast}},
                         pod("a"), pod("b"), pod("c"), pod("d")])
        assert Executor(spec, "w", pods).run() == "Failed"
        assert pods.ran == ran, fail_fast


def test_when_skips_items_fan_out_retries_repeat_and_the_exit_handler_sees_the_status() -> None:
    pods = Pods({"flaky": 2})
    spec = workflow([
        {"name": "main", "dag": {"tasks": [
            {"name": "gate", "template": "echo", "arguments": {"parameters": [{"name": "say", "value": "prod"}]}},
            {"name": "skipped", "template": "echo", "depends": "gate",
             "when": "'{{tasks.gate.outputs.result}}' == 'dev'",
             "arguments": {"parameters": [{"name": "say", "value": "never"}]}},
            {"name": "each", "template": "echo", "depends": "skipped", "withItems": ["x", "y"],
             "arguments": {"parameters": [{"name": "say", "value": "{{item}}-{{workflow.parameters.env}}"}]}},
            {"name": "flaky", "template": "flaky", "depends": "each"}]}},
        {"name": "echo", "inputs": {"parameters": [{"name": "say"}]},
         "container": {"image": "busybox", "args": ["{{inputs.parameters.say}}"]}},
        pod("flaky", retryStrategy={"limit": 2}),
        {"name": "exit", "steps": [[{"name": "alert", "template": "echo", "when": "{{workflow.status}} != Succeeded",
                                     "arguments": {"parameters": [{"name": "say", "value": "alert"}]}}]]}],
        onExit="exit", arguments={"parameters": [{"name": "env", "valueFrom": {"configMapKeyRef": {
            "name": "w-settings", "key": "env"}}}]})
    executor = Executor(spec, "w", pods, settings={"env": "prod"})
    assert executor.run() == "Succeeded"
    assert pods.ran == ["prod", "x-prod", "y-prod", "flaky", "flaky", "flaky"]
    assert [n.phase for n in executor.nodes if n.template == "flaky"] == ["Succeeded"]
    with pytest.raises(ArgoError, match="no key env"):
        Executor(spec, "w", pods)


def test_a_reference_nothing_resolves_is_an_error() -> None:
    spec = workflow([{"name": "main", "container": {"image": "busybox", "args": ["{{inputs.parameters.x}}"]}}])
    with pytest.raises(ArgoError, match="unresolved reference"):
        Executor(spec, "w", Pods()).run()


# --- the examples, their SQL on DuckDB -------------------------------------------------------------------

EXAMPLES_ON_SPARK = ["backfill", "customer_silver_daily", "gold_aggregate", "scd2_dimension", "silver_transformation"]
"""Examples whose every data task runs `spark-sql` in a pod."""


JDBC_VIEW = re.compile(r"CREATE OR REPLACE TEMPORARY VIEW (\w+) USING jdbc OPTIONS \(.*\bdbtable '([^']+)'", re.S)


class SqlPods:
    """`spark-sql -e` pods run on DuckDB, a JDBC source's table read from the file `jdbc` names for it; pods
    that run a Databricks job run what the job does (`JobsOnDuckDB`, the user's `own` jobs for ingestion and
    scoring); other pods (the alerts' `curl`) only recorded."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, jdbc: Mapping[str, Path] | None = None,
                 own: Mapping[str, OwnJob] | None = None):
        self.warehouse = SparkOnDuckDB(connection)
        self.jdbc = dict(jdbc or {})
        self.jobs = JobsOnDuckDB(connection, own)
        self.others: list[dict[str, Any]] = []

    def __call__(self, template: dict[str, Any]) -> tuple[bool, str]:
        container = template.get("container", {})
        script = template.get("script", {})
        env = {e["name"]: e.get("value") for e in script.get("env", [])}
        if "/api/2.1/jobs/run-now" in script.get("source", ""):
            state = self.jobs.run(json.loads(env["JOB_PARAMETERS"]), env["JOB_ID"])["state"]
            return state["result_state"] == "SUCCESS", state["state_message"]
        if not container.get("command", [""])[-1].endswith("spark-sql"):
            self.others.append(template)
            return True, ""
        arguments = container["args"]
        try:
            for statement in job.split(arguments[arguments.index("-e") + 1]):
                if (read := JDBC_VIEW.match(statement)) is not None:
                    path = str(self.jdbc[read.group(2)]).replace("'", "''")
                    self.warehouse.connection.execute(f"CREATE OR REPLACE TEMPORARY VIEW {read.group(1)} AS "
                                                      f"SELECT * FROM read_csv('{path}', header = true)")
                else:
                    self.warehouse.execute(statement)
        except duckdb.Error as error:
            return False, str(error)
        return True, ""


class Both(Example):
    """One example run by `sparklec run` (the reference) and by the Argo executor, each on its own database."""

    def __init__(self, name: str, tmp_path: Path):
        super().__init__(name, tmp_path, "argo")
        self.manifests, runs = workflow_templates(lower(self.project, "argo", {}))
        self.name = runs[""]
        self.pods = SqlPods(self.database)

    def run(self) -> str:
        self.run_reference()
        return self.run_workflow()

    def run_workflow(self) -> str:
        self.land()
        return Executor(self.manifests, self.name, self.pods, settings(self.manifests)).run()


def workflow_templates(artifacts: dict[str, str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The WorkflowTemplates of a project's manifests by name, and the one each pipeline's Workflow runs, by the
    pipeline's folder (`""` for a project of one pipeline)."""
    manifests = {m["metadata"]["name"]: m for path, text in artifacts.items()
                 if path.rsplit("/", 1)[-1].startswith("workflow-template") for m in [yaml.safe_load(text)]}
    return manifests, {path.rpartition("/")[0]: yaml.safe_load(text)["spec"]["workflowTemplateRef"]["name"]
                       for path, text in artifacts.items() if path.rsplit("/", 1)[-1] == "workflow.yaml"}


def settings(manifests: dict[str, dict[str, Any]]) -> dict[str, str]:
    """A value for every setting the templates read from their ConfigMap (what `deploy.sh` is given)."""
    return {p["valueFrom"]["configMapKeyRef"]["key"]: "1" for m in manifests.values()
            for p in m["spec"].get("arguments", {}).get("parameters", []) if "valueFrom" in p}


@pytest.mark.parametrize("name", EXAMPLES_ON_SPARK)
def test_the_workflow_leaves_the_tables_sparklec_run_leaves_over_two_runs(name: str, tmp_path: Path) -> None:
    both = Both(name, tmp_path)
    both.twice(both.run, "Succeeded")
    assert not both.pods.others, "no alert when the run succeeds"


def test_a_failing_check_fails_the_workflow_leaves_the_target_and_sends_the_alert(tmp_path: Path) -> None:
    both = Both("customer_silver_daily", tmp_path)
    assert both.run() == "Succeeded"
    before = both.target_rows()
    both.break_a_check()
    assert both.run_workflow() == "Failed"
    assert both.target_rows() == before
    assert len(both.pods.others) == 1, "the alert of the exit handler"


def test_customer_project_leaves_the_tables_sparklec_run_leaves_its_workflows_run_in_order(tmp_path: Path) -> None:
    """The five workflows of the project, run in dependency order twice with a changed and a new customer in
    between, the ingestion reading the CRM's table through JDBC and the scoring a Databricks job of the user's:
    every table `sparklec run` writes is the same; the scores, which it cannot make, are the user's job's."""
    project = optimise(load([EXAMPLES / "dsl" / "customer_project.spk"], environ={})[0])
    manifests, runs = workflow_templates(lower(project, "argo", {}))
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    reference, database = tmp_path / "run.duckdb", duckdb.connect(str(tmp_path / "argo.duckdb"))

    def workflows() -> None:
        pods = SqlPods(database, {"public.customers": data / "landing_postgres_crm" / "customers.csv"},
                       own_jobs(data))
        for pipeline in pipeline_order(project):
            assert Executor(manifests, runs[pipeline.name], pods, settings(manifests)).run() == "Succeeded", \
                (pipeline.name, pods.jobs.runs)
        assert [run["state"]["result_state"] for run in pods.jobs.runs] == ["SUCCESS"] * 2, "score, write_scores"
    customer_project_twice(project, data, reference, database, workflows)


@pytest.mark.parametrize("name", sorted(COMPILED_SOURCES))
def test_every_workflow_runs_through_with_every_reference_resolved(name: str, tmp_path: Path) -> None:
    """With pods that succeed, each workflow of each example runs to its end: its templates, references,
    loops and conditions are ones Argo can run."""
    project, _ = load([COMPILED_SOURCES[name]], environ={})
    manifests, runs = workflow_templates(lower(optimise(project), "argo", {}))
    for template in runs.values():
        assert Executor(manifests, template, lambda pod: (True, ""), settings(manifests)).run() == "Succeeded"
    assert len(runs) == len(project.pipelines) > 0


@examples(max_examples=max(3, examples().max_examples // 10), deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much])
@given(projects(max_pipelines=3, max_steps=6, kinds=[k for k in TASK_KINDS if k not in ("ingest", "score", "train")]),
       st.data())
def test_the_workflows_of_a_random_project_leave_the_tables_sparklec_run_leaves(project: Project,
                                                                                data: st.DataObject) -> None:
    """Random projects over messy rows, their tasks in `spark-sql` pods, run twice with new rows: every table
    `sparklec run` writes, the workflows (run in dependency order) leave the same, and one side writes a table
    only if the other does."""
    project = random_project(project)
    try:
        manifests, runs = workflow_templates(lower(project, "argo", {}))
    except LoweringError:
        reject()  # SQL the pods cannot say without the columns: an error of its own
    single = len(project.pipelines) == 1

    def workflows(project: Project, database: Path, reference: Path) -> None:
        with duckdb.connect(str(database)) as connection:
            for pipeline in pipeline_order(project):
                Executor(manifests, runs["" if single else pipeline.name], SqlPods(connection),
                         settings(manifests)).run()

    assert twice_at_random(project, data, workflows) > 0
