"""The execution plan: every step once, every dependency of the IR kept (checked against the IR's own
references through the conformance kit's `required_order`, not the plan builder's graph), runtimes that can run
their steps, SQL and gates where SQL runs."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import attrs
import duckdb
import networkx as nx
from hypothesis import given, settings

from conftest import EXAMPLES
from sparklec.backends import get_backend
from sparklec.compiler.driver import load, lower, optimise
from sparklec.diagnostics import LoweringError
from sparklec.ir import tasks as t
from sparklec.ir.pipeline import Dataset, Pipeline
from sparklec.ir.values import Column
from sparklec.ir.policy import SQL_KINDS, can_run
from sparklec.lowering import (
    JOB_RUNTIMES, Checks, Job, Landing, Materialize, Query, Sql, TargetProfile, build_plans,
    inlined_transforms,
)
from sparklec.lowering.profile import WAREHOUSE_KINDS
from sparklec.sql.tasks import TaskSql
from sparklec.testing import projects
from sparklec.testing.conformance import ir_levels, required_order

PROFILES = [p for p in (get_backend(name).profile for name in ("stepfunctions", "argo", "dbt")) if p is not None]
NO_RUNTIME = ("notify", "wait", "approval")


def _check(pipeline: Pipeline, profile: TargetProfile, plan: Any) -> int:
    inlined = inlined_transforms(pipeline, profile)
    named = [s.name for level in plan.steps.levels() for s in level.steps]
    expected = {s.name for s in t.walk(pipeline.steps)} - set(inlined)
    assert set(named) == expected and max(Counter(named).values(), default=1) == 1, "every step exactly once"
    by_names = {frozenset(s.name for s in level.steps): level for level in plan.steps.levels()}
    compared = 0
    for steps in ir_levels(pipeline.steps):
        required = required_order(steps, pipeline)
        kept = [s.name for s in steps if s.name not in inlined]
        if not kept:
            continue
        level = by_names[frozenset(kept)]
        given = nx.DiGraph(list(level.edges))
        given.add_nodes_from(kept)
        for upstream in kept:
            wanted = nx.descendants(required, upstream) & set(kept)
            assert nx.descendants(given, upstream) == wanted, (upstream, wanted)
            compared += 1
        assert nx.is_directed_acyclic_graph(given) and len(level.edges) == len(nx.transitive_reduction(given).edges)
    tasks = {task.name: task for task in t.walk(pipeline.steps)}
    for step in plan.tasks():
        target_default = dict(profile.runtimes).get(step.kind)
        if profile.warehouse and step.kind in WAREHOUSE_KINDS:
            compared += _check_relation(tasks[step.name], step.action, step.runtime)
            continue
        assert step.runtime is None if step.kind in NO_RUNTIME else (
            step.runtime == target_default or can_run(step.runtime, step.kind)), step
        if step.kind in SQL_KINDS and step.runtime in ("athena", "k8s"):
            assert isinstance(step.action, Sql) and step.action.statements, step.name
        task = tasks.get(step.name)
        if isinstance(task, t.QualityCheck) and isinstance(step.action, Sql):
            assert step.action.gate is not None and len(step.action.gate.checks) == len(task.checks)
        if step.runtime in JOB_RUNTIMES:
            assert isinstance(step.action, Job) and dict(step.action.arguments)["task"] == step.kind
    return compared


def _check_relation(task: t.AnyTask, action: object, runtime: str | None) -> int:
    """A warehouse's step says what the task says: the chain or SQL of a transform, the table and mode of a write,
    the checks of a check, where an ingestion lands."""
    assert runtime is None
    match task:
        case t.Transform():
            assert isinstance(action, Query) and (action.input, action.steps, action.sql, action.examples) == (
                task.input, task.steps, task.sql, task.examples)
        case t.Write():
            assert isinstance(action, Materialize) and action.target.name == task.target and (
                action.mode, action.unique_key, action.watermark) == (task.mode, task.unique_key, task.watermark)
        case t.QualityCheck():
            assert isinstance(action, Checks) and (action.input, action.checks) == (task.input, task.checks)
        case t.Ingest():
            assert isinstance(action, Landing) and action.source == task.source and action.schema.startswith("landing_")
        case _:
            raise AssertionError(f"{task.name}: no warehouse step of a {t.kind_name(task)}")
    return 1


@settings(deadline=None)
@given(projects(max_pipelines=2))
def test_every_step_once_and_every_dependency_kept(project: Any) -> None:
    compared = 0
    for profile in PROFILES:
        try:
            plans = build_plans(project, profile)
        except LoweringError as error:  # a task the target cannot run (Argo: scoring with no runtime)
            assert {d.code for d in error.diagnostics} == {"E402"}, error.diagnostics
            continue
        for pipeline, plan in zip(project.pipelines, plans, strict=True):
            compared += _check(pipeline, profile, plan)
    assert compared > 0, "a step's dependencies were compared"


def test_the_examples_plan_every_step(tmp_path: Any) -> None:
    compared = 0
    for source in sorted((EXAMPLES / "dsl").glob("*.spk")):
        project = optimise(load([source], environ={})[0])
        for profile in PROFILES:
            for pipeline, plan in zip(project.pipelines, build_plans(project, profile), strict=True):
                compared += _check(pipeline, profile, plan)
    assert compared >= 50, compared


def test_emit_plan_prints_stable_json_and_needs_a_backend_with_a_plan(cli: Any) -> None:
    spk = EXAMPLES / "dsl" / "customer_etl.spk"
    first, second = (cli(spk, "--backend", "stepfunctions", "--emit", "plan") for _ in range(2))
    assert first.code == 0 and first.out == second.out
    [plan] = json.loads(first.out)
    assert plan["pipeline"] == "customer_etl" and plan["steps"]["edges"]
    assert cli(spk, "--emit", "plan").code == 2
    [dbt] = json.loads(cli(spk, "--backend", "dbt", "--emit", "plan").out)
    assert {step.get("action", {}).get("kind") for step in dbt["steps"]["steps"]} == {"Landing", "Materialize", "Query", None}  # and a loop and a branch


WRITE_MODES: list[tuple[str, dict[str, Any]]] = [
    ("append", {}), ("overwrite", {}), ("overwrite", {"partition_by": ("day",)}), ("merge", {"unique_key": ("id",)}),
    ("incremental", {"watermark": "day"}), ("incremental", {"watermark": "day", "unique_key": ("id",)})]


def _writing(mode: str, fields: dict[str, Any]) -> Pipeline:
    columns = (Column(name="id", type="int"), Column(name="day", type="int"))
    return Pipeline(name="p", datasets=(Dataset(name="raw", schema="bronze", table="raw", columns=columns),
                                        Dataset(name="out", schema="gold", table="out", columns=columns)),
                    steps=(t.Write(name="w", input="raw", target="out", mode=mode, **fields),))


def test_a_write_creates_its_schema_and_target_when_they_are_missing() -> None:
    """On DuckDB the statements of every write mode run twice on a database holding only the source; on Spark
    they create the schema and a Delta table (partitioned as the write says) before anything writes to it."""
    for mode, fields in WRITE_MODES:
        pipeline = _writing(mode, fields)
        [write] = pipeline.steps
        assert isinstance(write, t.Write)
        connection = duckdb.connect()
        connection.execute("CREATE SCHEMA bronze; CREATE TABLE bronze.raw AS SELECT 1 AS id, 7 AS day")
        for _ in range(2):
            for statement in TaskSql(pipeline, "duckdb", "p").write(write):
                connection.execute(statement)
        assert connection.execute("SELECT count(*) FROM gold.out").fetchone() == ((2,) if mode == "append" else (1,))
        spark = TaskSql(pipeline, "spark", "p").write(write)
        partitioned = " PARTITIONED BY (day)" if "partition_by" in fields else ""
        assert spark[:2] == ["CREATE SCHEMA IF NOT EXISTS gold",
                             f"CREATE TABLE IF NOT EXISTS gold.out USING DELTA{partitioned} AS SELECT * FROM bronze.raw LIMIT 0"]
        assert TaskSql(pipeline, "athena", "p").write(write)[0] == "CREATE SCHEMA IF NOT EXISTS gold"


def test_a_transform_creates_the_schema_of_its_view() -> None:
    view = t.Transform(name="v", input="raw")
    pipeline = attrs.evolve(_writing("append", {}), steps=(view,))
    assert TaskSql(pipeline, "spark", "p_work").task_statements(view)[:1] == ["CREATE SCHEMA IF NOT EXISTS p_work"]


def test_a_scheduled_pipeline_runs_on_its_schedule_only_and_an_unscheduled_one_when_its_upstream_succeeds() -> None:
    """`dim_customer` (schedule 30 3 * * *, dependencies [silver_customers]) runs on its schedule and is not also
    started by its upstream; `customers_contract` (no schedule) is started by `silver_customers`, on Argo and on
    Step Functions."""
    project = optimise(load([EXAMPLES / "sparkle"], environ={})[0])
    plans = {plan.pipeline: plan for plan in build_plans(project, PROFILES[0])}
    assert plans["dim_customer"].schedules and plans["dim_customer"].started_by == ()
    assert plans["customers_contract"].started_by == ("silver_customers",)
    assert plans["silver_customers"].downstream == ("customers_contract",)
    argo = lower(project, "argo", {})
    assert "dim_customer/cron-workflow.yaml" in argo and "customers_contract/cron-workflow.yaml" not in argo
    exit_handler = argo["silver_customers/workflow-template.yaml"]
    assert '"name": "customers-contract"' in exit_handler and '"name": "dim-customer"' not in exit_handler
    sfn = lower(project, "stepfunctions", {})
    assert "ScheduleExpression" in sfn["dim_customer/cloudformation.yaml"]
    assert "EventPattern" not in sfn["dim_customer/cloudformation.yaml"], "not also started by silver_customers"
    assert "EventPattern" in sfn["customers_contract/cloudformation.yaml"]
