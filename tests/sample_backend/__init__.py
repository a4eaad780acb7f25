"""A whole backend in a page: each pipeline's execution plan as a JSON list of tasks, each with the runtime
that runs it, its SQL and the tasks it starts after."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from typing_extensions import assert_never

from sparklec.backends import Artifacts, Backend
from sparklec.ir.pipeline import Project
from sparklec.lowering import Level, PlanBranch, PlanLoop, PlanStep, PlanTask, Sql, TargetProfile, build_plans, defaults

PROFILE = TargetProfile("tasklist", defaults(sql="databricks", jobs="databricks", containers="k8s"))


def names(step: PlanStep) -> list[str]:
    match step:
        case PlanTask():
            return [step.name]
        case PlanLoop():
            return [n for s in step.body.steps for n in names(s)]
        case PlanBranch():
            return [n for s in (*step.then.steps, *step.otherwise.steps) for n in names(s)]
        case _:
            assert_never(step)


def tasks(level: Level, waits: tuple[str, ...] = ()) -> Iterator[dict[str, object]]:
    inside = {step.name: names(step) for step in level.steps}
    for step in level.steps:
        after = [*waits, *(n for upstream, downstream in level.edges if downstream == step.name for n in inside[upstream])]
        match step:
            case PlanTask():
                sql = list(step.action.statements) if isinstance(step.action, Sql) else []
                yield {"name": step.name, "runtime": step.runtime, "sql": sql, "after": after}
            case PlanLoop():
                yield from tasks(step.body, tuple(after))
            case PlanBranch():
                yield from tasks(step.then, tuple(after))
                yield from tasks(step.otherwise, tuple(after))


def lower(project: Project, options: Mapping[str, str]) -> Artifacts:
    return Artifacts({f"{plan.pipeline}.json": json.dumps([*tasks(plan.steps), *tasks(plan.on_failure)], indent=2)
                      for plan in build_plans(project, PROFILE, options)})


backend = Backend(name="tasklist", description="each pipeline as a JSON task list", lower=lower, profile=PROFILE)
