"""What a compiled pipeline costs to run: Step Functions state transitions, Argo pods, dbt models, each
against a naive lowering that runs every transformer op as a task of its own; and the parallelism the
series-parallel structuring of Step Functions gives up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from sparklec.backends.stepfunctions.integrations import athena_inlined
from sparklec.compiler.driver import load, optimise
from sparklec.compiler.passes.series_parallel import SeriesParallel
from sparklec.ir import tasks as t

POD_KINDS = ("container", "script")


def naive_tasks(source: Path) -> int:
    """Tasks a one-task-per-op lowering runs: one per op of every transform (at least one), one per other task."""
    project, _ = load([source], environ={})
    return sum(max(1, len(step.steps)) if isinstance(step, t.Transform) else 1
               for pipeline in project.pipelines for step in t.walk(pipeline.steps) if isinstance(step, t.Task))


def transitions(machine: dict[str, Any]) -> tuple[int, int]:
    """(states entered, Task states entered) by a successful run of `machine` with no loops or branches:
    every state from the start along `Next`, and every branch of a parallel block."""
    entered = tasks = 0
    name: str | None = machine["StartAt"]
    while name is not None:
        state = machine["States"][name]
        entered += 1
        tasks += state["Type"] == "Task"
        for branch in state.get("Branches", []):
            inner = transitions(branch)
            entered, tasks = entered + inner[0], tasks + inner[1]
        name = state.get("Next")
    return entered, tasks


def stepfunctions_transitions(output: Path) -> tuple[int, int]:
    """(state transitions, Task states) of one successful run, over the main machine and every part it starts."""
    counts = [transitions(json.loads(path.read_text())) for path in output.glob("state_machine*.json")]
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def argo_pods(output: Path) -> int:
    """Pods one run starts: DAG tasks whose template (in this file or, by `templateRef`, a part) runs a
    container or a script."""
    templates: dict[str, dict[str, Any]] = {}
    dags = []
    for path in output.glob("workflow-template*.yaml"):
        for template in yaml.safe_load(path.read_text())["spec"]["templates"]:
            templates[template["name"]] = template
            dags += template.get("dag", {}).get("tasks", [])
    named = [task.get("template") or task["templateRef"]["template"] for task in dags]
    return sum(1 for name in named if any(kind in templates[name] for kind in POD_KINDS))


def dbt_models(output: Path) -> int:
    return sum(1 for _ in (output / "models").rglob("*.sql"))


def structuring(source: Path) -> tuple[int, int, int]:
    """(synchronisation edges added, critical path before, after) of the Step Functions structuring."""
    project, _ = load([source], environ={})
    structure, before = SeriesParallel(athena_inlined), optimise(project)
    costs = [structure.cost(old, new) for old, new in zip(before.pipelines, structure.run(before).pipelines,
                                                           strict=True)]
    return sum(len(c[0]) for c in costs), max(c[1] for c in costs), max(c[2] for c in costs)
