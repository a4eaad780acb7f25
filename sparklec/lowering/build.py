"""Building the `ExecutionPlan` of each pipeline from the optimised IR and a `TargetProfile`."""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs
from typing_extensions import assert_never

from sparklec.diagnostics import Diagnostic, LoweringError

from sparklec.ir import tasks as t
from sparklec.ir.columns import ColumnFlow
from sparklec.ir.graph import StepGraph, dataset_writers
from sparklec.ir.pipeline import Pipeline, Project, isolated
from sparklec.ir.policy import SQL_KINDS
from sparklec.ir.text import check_text
from sparklec.ir.channels import channel
from sparklec.lowering.actions import (
    Action, Approval, CheckQuery, Checks, Container, Gate, JdbcRead, Job, Landing, Materialize, Message, Pause, Query,
    Resource, Script, Sql,
)
from sparklec.lowering.plan import ExecutionPlan, Level, PlanBranch, PlanLoop, PlanStep, PlanTask
from sparklec.lowering.profile import JOB_RUNTIMES, RUNTIME_DIALECTS, RUNTIME_NAMES, TargetProfile
from sparklec.sql.tasks import TaskSql, inlinable_transforms, landing_table


def build_plans(project: Project, profile: TargetProfile, options: Mapping[str, str] | None = None
                ) -> tuple[ExecutionPlan, ...]:
    """The plan of every pipeline of `project` on the target of `profile`; `options` may name the ``database``
    that holds the relations steps produce (default: the pipeline's name)."""
    names = {pipeline.name for pipeline in project.pipelines}
    started_by = {pipeline.name: tuple(u for u in pipeline.depends_on if u in names and u != pipeline.name)
                  for pipeline in project.pipelines if not pipeline.schedules}
    downstream: dict[str, list[str]] = {}
    for name, upstreams in started_by.items():
        for upstream in upstreams:
            downstream.setdefault(upstream, []).append(name)
    return tuple(_Builder(pipeline, profile, (options or {}).get("database")).plan(
        downstream.get(pipeline.name, []), started_by.get(pipeline.name, ())) for pipeline in project.pipelines)


def work_database(pipeline: Pipeline, database: str | None = None) -> str:
    """Where the relations a pipeline's steps produce are kept: `database`, else the pipeline's name (with the
    environment's as a prefix outside ``prod``, unless the pipeline's `isolation` is ``none``)."""
    if database:
        return database
    _, schema = isolated(None, re.sub(r"[^a-z0-9_]", "_", pipeline.name.lower()), pipeline.env,
                         "none" if pipeline.isolation == "none" else "schema")
    return schema


def inlined_transforms(pipeline: Pipeline, profile: TargetProfile) -> dict[str, t.Transform]:
    """The transforms that run inside the SQL of their readers on the profile's `inline_runtime`."""
    if profile.inline_runtime is None:
        return {}
    return inlinable_transforms(pipeline, lambda task: t.kind_name(task) in SQL_KINDS
                                and profile.runtime(task, pipeline) == profile.inline_runtime)


class _Builder:
    def __init__(self, pipeline: Pipeline, profile: TargetProfile, database: str | None):
        self.pipeline, self.profile = pipeline, profile
        self.writers = dataset_writers(pipeline)
        self.inlined = inlined_transforms(pipeline, profile)
        self.database = work_database(pipeline, database)
        self.sql: dict[str, TaskSql] = {}
        self.columns: ColumnFlow | None = None

    def plan(self, downstream: list[str], started_by: tuple[str, ...]) -> ExecutionPlan:
        pipeline = self.pipeline
        alerts = tuple(PlanTask(name=f"Alert {index}", kind="notify", policy=attrs.evolve(pipeline.defaults, runtime=None, span=None),
                                action=Message(channel(text), f"Pipeline {pipeline.name} failed",
                                               f"Pipeline {pipeline.name} failed."))
                       for index, text in enumerate(pipeline.alerts, start=1))
        return ExecutionPlan(
            pipeline=pipeline.name, target=self.profile.name, steps=self.level(pipeline.steps),
            on_failure=self.level(pipeline.on_failure, failure=True), parameters=pipeline.parameters,
            schedules=pipeline.schedules, triggers=pipeline.triggers, upstream=pipeline.depends_on,
            started_by=started_by, downstream=tuple(sorted(downstream)), alerts=alerts,
            description=pipeline.description, env=pipeline.env, isolation=pipeline.isolation,
            pipeline_type=pipeline.pipeline_type, tags=pipeline.tags, datasets=pipeline.datasets,
            exposures=pipeline.exposures, custom_transformers=pipeline.custom_transformers, span=pipeline.span)

    def level(self, steps: tuple[t.Step, ...], failure: bool = False) -> Level:
        graph = StepGraph(steps, self.writers, self.inlined)
        built: list[PlanStep] = []
        for name in graph.order():
            step = graph.steps[name]
            match step:
                case t.ForEach():
                    built.append(PlanLoop(name=name, var=step.var, body=self.level(step.body), items=step.items,
                                          items_param=step.items_param, max_concurrency=step.max_concurrency,
                                          span=step.span))
                case t.Branch():
                    built.append(PlanBranch(name=name, condition=step.condition, then=self.level(step.then),
                                            otherwise=self.level(step.otherwise), span=step.span))
                case _:
                    built.append(self.task(step, failure))
        position = {step.name: index for index, step in enumerate(built)}
        edges = sorted(graph.reduced_edges(), key=lambda edge: (position[edge[0]], position[edge[1]]))
        return Level(steps=tuple(built), edges=tuple(edges))

    def task(self, task: t.AnyTask, failure: bool = False) -> PlanTask:
        runtime = self.profile.runtime(task, self.pipeline)
        return PlanTask(name=task.name, kind=t.kind_name(task), action=self.action(task, runtime, failure),
                        runtime=runtime, reads=task.reads(), inputs=task.inputs, outputs=task.outputs, description=task.description,
                        policy=attrs.evolve(task.policy.over(self.pipeline.defaults), runtime=runtime, span=None),
                        span=task.span)

    def action(self, task: t.AnyTask, runtime: str | None, failure: bool) -> Action:
        """What `task` does on `runtime`; in the steps run when the pipeline fails (`failure`), a message with
        no text of its own says the pipeline failed."""
        pipeline = self.pipeline.name
        match task:
            case t.Wait():
                return Pause(task.seconds)
            case t.Approval():
                return Approval(task.prompt or f"Approve step {task.name} of pipeline {pipeline}")
            case t.Notify():
                return Message(channel(task.channel), task.subject or f"{pipeline}: {task.name}",
                               task.message or (f"Pipeline {pipeline} failed." if failure
                                                else f"Pipeline {pipeline}: {task.name}"))
            case t.Container():
                return Container(task.image, task.command, task.args, tuple((s.key, str(s.value)) for s in task.env))
            case t.Script():
                return Script(task.image, task.source)
            case t.KubernetesResource():
                return Resource(task.action, task.manifest, task.success_condition, task.failure_condition)
            case t.Ingest() | t.Transform() | t.Write() | t.QualityCheck() if self.profile.warehouse:
                return self.relation(task)
            case t.Ingest() | t.Train() | t.SelectModel() | t.Score() | t.Transform() | t.Write() | t.RunSql() \
                    | t.QualityCheck():
                return self.work(task, runtime)
            case _:
                assert_never(task)

    def relation(self, task: t.Ingest | t.Transform | t.Write | t.QualityCheck) -> Action:
        """What a warehouse target builds for `task`, or reads where it lands."""
        match task:
            case t.Transform():
                if self.columns is None:
                    self.columns = ColumnFlow(self.pipeline, lambda diagnostic: None)
                return Query(task.input, task.steps, task.sql, self.columns.input_schema(task), task.examples)
            case t.Write():
                target = self.pipeline.dataset(task.target)
                assert target is not None, "the verifier checks that written datasets are declared"
                return Materialize(task.input, target, task.mode, task.unique_key, task.partition_by, task.watermark,
                                   task.schema_change)
            case t.QualityCheck():
                return Checks(task.input, task.checks, task.severity)
            case t.Ingest():
                schema, table = landing_table(task)
                return Landing(task.ingestor, task.source, task.source_system, schema, table, task.columns)
            case _:
                assert_never(task)

    def work(self, task: t.AnyTask, runtime: str | None) -> Action:
        """A data task: a job of the user's on a job runtime (which reads Spark SQL, whichever service runs
        it), statements where its runtime runs SQL, a JDBC copy in a Spark pod."""
        if runtime in JOB_RUNTIMES:
            return Job(tuple(self.dialect(RUNTIME_DIALECTS.get(runtime, "databricks")).job_arguments(task).items()))
        dialect = RUNTIME_DIALECTS.get(runtime or "")
        if dialect is not None and t.kind_name(task) in SQL_KINDS:
            sql = self.dialect(dialect)
            gate = None
            if isinstance(task, t.QualityCheck):
                gate = Gate(severity=task.severity, checks=tuple(
                    CheckQuery(check=check_text(check), sql=sql.text(query)) for check, query in sql.check_queries(task)),
                            enforced=sql.enforced(task))
            return Sql(tuple(sql.task_statements(task)), gate)
        if isinstance(task, t.Ingest) and task.ingestor.startswith("jdbc") and runtime == "k8s":
            sql = self.dialect("spark")
            table = sql.table(task.name)
            return JdbcRead(task.source, task.connection, sql.text(table), sql.create_schema(table))
        raise LoweringError([Diagnostic(
            code="E402", message=f"{t.kind_name(task).replace('_', ' ')} task `{task.name}` has no way to run on "
                                 f"{RUNTIME_NAMES.get(runtime or '', runtime)} by itself", span=task.span,
            help="give it a runtime that runs it (databricks, glue, emr_serverless or lambda), "
                 "or make it a container with your image")])

    def dialect(self, dialect: str) -> TaskSql:
        if dialect not in self.sql:
            self.sql[dialect] = TaskSql(self.pipeline, dialect, self.database, self.inlined)
        return self.sql[dialect]
