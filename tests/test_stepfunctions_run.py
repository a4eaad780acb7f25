"""Generated state machines, executed by moto's Step Functions interpreter (every Task calls a mocked
Lambda function): every task runs once per item, every dependency is respected, Choice takes the
right branch, Retry retries and Catch reaches the failure handler."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES
from sparklec.backends.stepfunctions.integrations import PROFILE, athena_inlined
from sparklec.backends.stepfunctions.machine import FAILED, MachineBuilder
from sparklec.backends.stepfunctions.stack import Stack
from sparklec.compiler.passes import PassPipeline
from sparklec.compiler.passes.series_parallel import SeriesParallel
from sparklec.compiler.driver import load, lower, optimise
from sparklec.ir import Pipeline, Project
from sparklec.ir import tasks as t
from sparklec.ir.graph import StepGraph, dataset_writers, levels
from sparklec.lowering import build_plans
from sparklec.testing import pipelines
from stepfunctions_harness import Run, execute


def definition_of(project: Project) -> dict[str, Any]:
    artifacts = lower(optimise(project), "stepfunctions", {})
    result: dict[str, Any] = json.loads(artifacts["state_machine.json"])
    return result


def example(name: str) -> dict[str, Any]:
    project, _ = load([EXAMPLES / "dsl" / f"{name}.spk"], environ={})
    return definition_of(project)


def test_the_seed_example_runs_every_task_and_chooses_by_parameter() -> None:
    definition = example("customer_etl")
    run = execute(definition)
    assert run.status == "SUCCEEDED"
    assert len(run.entered("process_partition")) == 10, "once per partition"
    assert run.entered("development_path") and not run.entered("production_path")
    production = execute(definition, {"environment": "prod"})
    assert production.entered("production_path") and not production.entered("development_path")


def test_a_failing_task_is_retried_then_caught_by_the_failure_handler() -> None:
    run = execute(example("customer_etl"), failing=frozenset({"transform_data"}))
    assert run.status == "FAILED"
    assert run.calls.count("transform_data") == 4, "the first attempt and 3 retries"
    assert run.entered("handle_failure") and run.entered(FAILED)
    assert not run.entered("write_clean")


def test_a_task_failing_in_a_part_is_caught_by_the_failure_handler_of_the_main_machine() -> None:
    project, _ = load([EXAMPLES / "dsl" / "customer_etl.spk"], environ={})
    [plan] = build_plans(PassPipeline([SeriesParallel()]).run(optimise(project)), PROFILE)
    builder = MachineBuilder(plan, Stack(), {}, budget=2)
    definition = builder.definition()
    assert builder.parts and "transform_data" not in definition["States"]
    run = execute(definition, failing=frozenset({"transform_data"}), parts=builder.parts)
    assert run.status == "FAILED"
    assert run.calls.count("transform_data") == 4, "the first attempt and 3 retries"
    assert run.entered("handle_failure") and run.entered(FAILED)
    assert "write_clean" not in run.calls


def test_a_failed_quality_check_stops_the_pipeline_before_the_write() -> None:
    run = execute(example("customer_silver_daily"),
                  replies={"null_checks: read result": {"status": "succeeded", "failures": 3}})
    assert run.status == "FAILED"
    assert run.entered("null_checks: failed") and not run.entered("load")
    assert execute(example("customer_silver_daily")).status == "SUCCEEDED"


INDEPENDENT_BRANCHES = '''pipeline p {
  task a = script "print(1)"
  task a_next = script "print(2)" after a
  task b = script "print(3)"
  task b_next = script "print(4)" after b
  task both = script "print(5)" after a_next, b_next
  foreach day in ["mon", "tue", "wed"] as days {
    task first = script "print(6)"
    task second = script "print(7)" after first
    task apart = script "print(8)"
  }
  on_failure task tell = notify "slack://team" {
    message "p failed"
  }
}
'''


def test_a_failure_stops_only_what_depends_on_it() -> None:
    from sparklec.frontends.dsl import parse

    definition = definition_of(parse(INDEPENDENT_BRANCHES))
    assert execute(definition).status == "SUCCEEDED"
    run = execute(definition, failing=frozenset({"a", "first"}))
    assert run.status == "FAILED" and run.entered("tell") and run.entered(FAILED)
    assert {"b", "b_next"} <= set(run.calls) and not {"a_next", "both", "second"} & set(run.calls), run.calls
    assert run.calls.count("apart") == run.calls.count("first") == 3, "every item runs"


# --- the property --------------------------------------------------------------------------------


def holds(condition: t.Condition, params: dict[str, Any], ran: Counter[str]) -> bool:
    """What the Choice state decides, computed from the IR."""
    if isinstance(condition, t.AllOf):
        return all(holds(c, params, ran) for c in condition.conditions)
    if isinstance(condition, t.AnyOf):
        return any(holds(c, params, ran) for c in condition.conditions)
    if isinstance(condition, t.Not):
        return not holds(condition.condition, params, ran)
    operand = condition.operand if isinstance(condition, t.IsSet) else condition.left
    if isinstance(operand, t.ParamRef):
        present, value = operand.name in params, params.get(operand.name)
    else:
        present, value = ran[operand.task] > 0, "succeeded"
    if isinstance(condition, t.IsSet):
        return present
    equal = present and value == condition.right
    assert condition.op in ("==", "!="), "the strategies compare for equality"
    return equal if condition.op == "==" else not equal


def expected_entries(pipeline: Pipeline) -> Counter[str]:
    """How often each step's first state is entered: once per item of the loops around it."""
    params = {p.name: p.default for p in pipeline.parameters if p.default is not None}
    counts: Counter[str] = Counter()
    writers = dataset_writers(pipeline)
    inlined = athena_inlined(pipeline)

    def visit(steps: tuple[t.Step, ...], times: int) -> None:
        level = StepGraph(steps, writers, inlined)
        for name in level.order():
            step = level.steps[name]
            counts[step.name] += times
            if isinstance(step, t.ForEach):
                items = step.items if step.items is not None else params[step.items_param or ""]
                visit(step.body, times * len(items))  # type: ignore[arg-type]
            elif isinstance(step, t.Branch):
                visit(step.then if holds(step.condition, params, counts) else step.otherwise, times)

    visit(pipeline.steps, 1)
    return counts


def span(run: Run, step: t.Step) -> tuple[int, int] | None:
    """First entry and last exit of the states of `step` (its own and, for groups, its body's)."""
    names = {s.name for s in t.walk((step,))}
    entered = [e for n in names for e in run.entered(n)]
    exited = [e for n in names for e in run.exited(n)]
    entered += [e["id"] for e in run.events if e["type"].endswith("StateEntered")
                and e["stateEnteredEventDetails"]["name"].split(": ")[0] in names]
    exited += [e["id"] for e in run.events if e["type"].endswith("StateExited")
               and e["stateExitedEventDetails"]["name"].split(": ")[0] in names]
    return (min(entered), max(exited)) if entered and exited else None


@settings(max_examples=max(4, settings().max_examples // 6))
@given(pipelines(max_steps=8))
def test_every_task_runs_once_per_item_and_after_what_it_depends_on(pipeline: Pipeline) -> None:
    pipeline = optimise(Project(name=pipeline.name, pipelines=(pipeline,))).pipelines[0]
    run = execute(definition_of(Project(name=pipeline.name, pipelines=(pipeline,))))
    assert run.status == "SUCCEEDED", [e for e in run.events if "Failed" in e["type"]][:3]
    expected = expected_entries(pipeline)
    for name, count in expected.items():
        assert len(run.entered(name)) == count, name
    looped = {inner.name for loop in t.walk(pipeline.steps) if isinstance(loop, t.ForEach) for inner in t.walk((loop,))}
    for group, level in levels(pipeline, athena_inlined(pipeline)):
        if group is not None and group.name in looped:
            continue  # per-item order is not told apart in the history
        for upstream, downstream in level.edges():
            before, after = span(run, level.steps[upstream]), span(run, level.steps[downstream])
            if before and after:
                assert before[1] < after[0], f"{upstream} must finish before {downstream} starts"


def calls_of(run: Run, step: t.Step) -> list[int]:
    """Where in the order of all Lambda calls (across every execution) the tasks of `step` were called."""
    names = {s.name for s in t.walk((step,))}
    return [i for i, call in enumerate(run.calls) if call.split(": ")[0] in names]


@settings(max_examples=max(4, settings().max_examples // 6))
@given(pipelines(max_steps=8), st.integers(1, 3))
def test_a_machine_split_into_parts_runs_the_same_tasks_in_the_same_order(pipeline: Pipeline, budget: int) -> None:
    project = optimise(Project(name=pipeline.name, pipelines=(pipeline,)))
    project = PassPipeline([SeriesParallel(athena_inlined)]).run(project)
    pipeline, [plan] = project.pipelines[0], build_plans(project, PROFILE)
    whole = execute(MachineBuilder(plan, Stack(), {}).definition())
    builder = MachineBuilder(plan, Stack(), {}, budget=budget)
    split = execute(builder.definition(), parts=builder.parts)
    assert split.status == whole.status == "SUCCEEDED"
    assert Counter(split.calls) == Counter(whole.calls)
    looped = {inner.name for loop in t.walk(pipeline.steps) if isinstance(loop, t.ForEach) for inner in t.walk((loop,))}
    for group, level in levels(pipeline, athena_inlined(pipeline)):
        if group is not None and group.name in looped:
            continue
        for upstream, downstream in level.edges():
            before, after = calls_of(split, level.steps[upstream]), calls_of(split, level.steps[downstream])
            if before and after:
                assert max(before) < min(after), f"{upstream} must finish before {downstream} starts"
