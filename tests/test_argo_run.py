"""Argo workflows executed: the executor's semantics on small workflows, then the WorkflowTemplates of the
examples run with their `spark-sql` pods' SQL on DuckDB, leaving the tables `sparklec run` leaves over two
runs, and a failing check failing the workflow with the target unchanged and the alert sent."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from hypothesis import HealthCheck, given, reject
from hypothesis import settings as examples
from hypothesis import strategies as st

from argo_executor import ArgoError, Executor
from conftest import COMPILED_SOURCES
from spark_on_duckdb import SparkOnDuckDB
from sparklec import job
from oracle import Example, random_sources, same_written_tables, written
from sparklec.compiler.driver import load, lower, optimise
from sparklec.diagnostics import LoweringError
from sparklec.ir import Pipeline, Project
from sparklec.ir import tasks as t
from sparklec.local import run_project
from sparklec.testing import on_default_runtime, pipelines

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
    pods = Pods({"a": 99})
    spec = workflow([{"name": "main", "dag": {"tasks": [
        {"name": "a", "template": "a"}, {"name": "b", "template": "b", "depends": "a"},
        {"name": "c", "template": "c", "depends": "a.Failed"}, {"name": "d", "template": "d", "depends": "b || c"}]}},
        pod("a"), pod("b"), pod("c"), pod("d")])
    assert Executor(spec, "w", pods).run() == "Failed"
    assert pods.ran == ["a", "c", "d"]


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


class SqlPods:
    """`spark-sql -e` pods run on DuckDB; other pods (the alerts' `curl`) only recorded."""

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self.warehouse = SparkOnDuckDB(connection)
        self.others: list[dict[str, Any]] = []

    def __call__(self, template: dict[str, Any]) -> tuple[bool, str]:
        container = template.get("container", {})
        if not container.get("command", [""])[-1].endswith("spark-sql"):
            self.others.append(template)
            return True, ""
        arguments = container["args"]
        try:
            for statement in job.split(arguments[arguments.index("-e") + 1]):
                self.warehouse.execute(statement)
        except duckdb.Error as error:
            return False, str(error)
        return True, ""


class Both(Example):
    """One example run by `sparklec run` (the reference) and by the Argo executor, each on its own database."""

    def __init__(self, name: str, tmp_path: Path):
        super().__init__(name, tmp_path, "argo")
        self.manifests, self.name = workflow_templates(lower(self.project, "argo", {}))
        self.pods = SqlPods(self.database)

    def run(self) -> str:
        self.run_reference()
        return self.run_workflow()

    def run_workflow(self) -> str:
        self.land()
        return Executor(self.manifests, self.name, self.pods, settings(self.manifests)).run()


def workflow_templates(artifacts: dict[str, str]) -> tuple[dict[str, dict[str, Any]], str]:
    """The WorkflowTemplates of a pipeline's manifests by name, and the one its Workflow runs."""
    manifests = {m["metadata"]["name"]: m for path, text in artifacts.items()
                 if path.rsplit("/", 1)[-1].startswith("workflow-template") for m in [yaml.safe_load(text)]}
    return manifests, yaml.safe_load(artifacts["workflow.yaml"])["spec"]["workflowTemplateRef"]["name"]


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


@pytest.mark.parametrize("name", sorted(COMPILED_SOURCES))
def test_every_workflow_runs_through_with_every_reference_resolved(name: str, tmp_path: Path) -> None:
    """With pods that succeed, each workflow of each example runs to its end: its templates, references,
    loops and conditions are ones Argo can run."""
    project, _ = load([COMPILED_SOURCES[name]], environ={})
    artifacts = lower(optimise(project), "argo", {})
    manifests = {m["metadata"]["name"]: m for path, text in artifacts.items()
                 if path.rsplit("/", 1)[-1].startswith("workflow-template") for m in [yaml.safe_load(text)]}
    ran = 0
    for path, text in artifacts.items():
        if path.rsplit("/", 1)[-1] == "workflow.yaml":
            template = yaml.safe_load(text)["spec"]["workflowTemplateRef"]["name"]
            assert Executor(manifests, template, lambda pod: (True, ""), settings(manifests)).run() == "Succeeded"
            ran += 1
    assert ran == len(project.pipelines) > 0


@examples(max_examples=max(3, examples().max_examples // 10), deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much])
@given(pipelines(max_steps=8), st.data())
def test_the_workflow_of_a_random_pipeline_leaves_the_tables_sparklec_run_leaves(pipeline: Pipeline,
                                                                                 data: st.DataObject) -> None:
    """Random pipelines over messy rows, their tasks in `spark-sql` pods: every table `sparklec run` writes, the
    workflow leaves the same, and one side writes a table only if the other does."""
    if any(isinstance(task, (t.Ingest, t.Train, t.Score)) for task in t.walk(pipeline.steps)):
        reject()  # no JDBC source or model registry here
    pipeline = on_default_runtime(pipeline)  # spark-sql pods
    project = optimise(Project(name=pipeline.name, pipelines=(pipeline,)))
    try:
        artifacts = lower(project, "argo", {})
    except LoweringError:
        reject()  # SQL the pods cannot say without the columns: an error of its own
    [pipeline] = project.pipelines
    if not written(pipeline):
        reject()  # nothing to compare
    with tempfile.TemporaryDirectory() as folder:
        reference = Path(folder) / "run.duckdb"
        argo = duckdb.connect(str(Path(folder) / "argo.duckdb"))
        with duckdb.connect(str(reference)) as connection:
            random_sources(pipeline, data, connection, argo)
        result = run_project(project, database=reference)
        if any("not available in duckdb" in task.detail for task in result.tasks):
            reject()  # the reference cannot say it (SHA-512)
        manifests, name = workflow_templates(artifacts)
        Executor(manifests, name, SqlPods(argo), settings(manifests)).run()
        same_written_tables(pipeline, reference, argo, result)
        argo.close()
