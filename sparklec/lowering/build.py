"""Building the `ExecutionPlan` of each pipeline from the optimised IR and a `TargetProfile`."""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from sparklec.ir import tasks as t
from sparklec.ir.graph import StepGraph, dataset_writers
from sparklec.ir.pipeline import Pipeline, Project
from sparklec.ir.policy import SQL_KINDS
from sparklec.ir.text import check_text
from sparklec.lowering.plan import CheckQuery, ExecutionPlan, Gate, Level, PlanBranch, PlanLoop, PlanStep, PlanTask
from sparklec.lowering.profile import JOB_RUNTIMES, RUNTIME_DIALECTS, TargetProfile
from sparklec.sql.tasks import TaskSql, inlinable_transforms


def build_plans(project: Project, profile: TargetProfile, options: Mapping[str, str] | None = None
                ) -> tuple[ExecutionPlan, ...]:
    """The plan of every pipeline of `project` on the target of `profile`; `options` may name the ``database``
    that holds the relations steps produce (default: the pipeline's name)."""
    downstream: dict[str, list[str]] = {}
    for pipeline in project.pipelines:
        for upstream in pipeline.depends_on:
            downstream.setdefault(upstream, []).append(pipeline.name)
    return tuple(_Builder(pipeline, profile, (options or {}).get("database")).plan(downstream.get(pipeline.name, []))
                 for pipeline in project.pipelines)


def work_database(pipeline: Pipeline, database: str | None = None) -> str:
    """Where the relations a pipeline's steps produce are kept: `database`, else the pipeline's name."""
    return database or re.sub(r"[^a-z0-9_]", "_", pipeline.name.lower())


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

    def plan(self, downstream: list[str]) -> ExecutionPlan:
        pipeline = self.pipeline
        return ExecutionPlan(
            pipeline=pipeline.name, target=self.profile.name, steps=self.level(pipeline.steps),
            on_failure=self.level(pipeline.on_failure), parameters=pipeline.parameters,
            schedules=pipeline.schedules, triggers=pipeline.triggers, upstream=pipeline.depends_on,
            downstream=tuple(sorted(downstream)), alerts=pipeline.alerts)

    def level(self, steps: tuple[t.Step, ...]) -> Level:
        graph = StepGraph(steps, self.writers, self.inlined)
        built: list[PlanStep] = []
        for name in graph.order():
            step = graph.steps[name]
            match step:
                case t.ForEach():
                    built.append(PlanLoop(name=name, var=step.var, body=self.level(step.body), items=step.items,
                                          items_param=step.items_param, max_concurrency=step.max_concurrency))
                case t.Branch():
                    built.append(PlanBranch(name=name, condition=step.condition, then=self.level(step.then),
                                            otherwise=self.level(step.otherwise)))
                case _:
                    built.append(self.task(step))
        position = {step.name: index for index, step in enumerate(built)}
        edges = sorted(graph.reduced_edges(), key=lambda edge: (position[edge[0]], position[edge[1]]))
        return Level(steps=tuple(built), edges=tuple(edges))

    def task(self, task: t.AnyTask) -> PlanTask:
        runtime = self.profile.runtime(task, self.pipeline)
        kind = t.kind_name(task)
        plan = PlanTask(name=task.name, task_kind=kind, task=task, runtime=runtime,
                        policy=attrs.evolve(task.policy.over(self.pipeline.defaults), runtime=runtime, span=None))
        dialect = RUNTIME_DIALECTS.get(runtime or "")
        if dialect is not None and kind in SQL_KINDS and runtime not in JOB_RUNTIMES:  # a job gets its SQL below
            sql = self.dialect(dialect)
            plan = attrs.evolve(plan, sql=tuple(sql.task_statements(task)))
            if isinstance(task, t.QualityCheck):
                plan = attrs.evolve(plan, gate=Gate(severity=task.severity, checks=tuple(
                    CheckQuery(check=check_text(check), sql=sql.text(query))
                    for check, query in sql.check_queries(task))))
        if runtime in JOB_RUNTIMES:  # a job of the user's reads Spark SQL, whichever service runs it
            plan = attrs.evolve(plan, arguments=tuple(self.dialect("databricks").job_arguments(task).items()))
        return plan

    def dialect(self, dialect: str) -> TaskSql:
        if dialect not in self.sql:
            self.sql[dialect] = TaskSql(self.pipeline, dialect, self.database, self.inlined)
        return self.sql[dialect]
