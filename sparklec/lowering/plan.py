"""The execution plan of a pipeline on a target: what runs, where, after what, with which SQL.

A plan is data (frozen attrs), printed by ``sparklec FILE --backend NAME --emit plan`` as stable JSON.
Each level of steps holds its runnable steps in a topological order and the
transitive reduction of their dependencies; transforms the target runs
inside the SQL of their readers are no steps (their queries are in their
readers' statements).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Union

import attrs
from typing_extensions import assert_never

from sparklec.diagnostics import Span, span_field
from sparklec.ir import tasks as t
from sparklec.ir.pipeline import CustomTransformer, Dataset, Exposure, Parameter, Schedule, Trigger
from sparklec.ir.policy import Artifact, Policy
from sparklec.ir.values import Setting
from sparklec.lowering.actions import Action


@attrs.frozen
class PlanTask:
    """A step that runs: what it does (`action`), the IR `kind` of its task, the `runtime` that runs it (None for
    waits, notifications and approvals), its `policy` resolved against the pipeline's defaults, the artifacts it
    takes and leaves, the relations it `reads` (datasets and other steps' results), and its description."""

    name: str
    kind: str
    action: Action
    policy: Policy
    runtime: str | None = None
    reads: tuple[str, ...] = ()
    inputs: tuple[Artifact, ...] = ()
    outputs: tuple[Artifact, ...] = ()
    description: str = ""
    span: Span | None = span_field()


@attrs.frozen
class PlanLoop:
    """A step run once per item (`items`, or the list parameter `items_param`), `max_concurrency` at a time."""

    name: str
    var: str
    body: Level
    items: tuple[object, ...] | None = None
    items_param: str | None = None
    max_concurrency: int | None = None
    span: Span | None = span_field()


@attrs.frozen
class PlanBranch:
    """A step that runs `then` when `condition` holds, else `otherwise`."""

    name: str
    condition: t.Condition
    then: Level
    otherwise: Level
    span: Span | None = span_field()


PlanStep = Union[PlanTask, PlanLoop, PlanBranch]


@attrs.frozen
class Level:
    """Steps that run as their `edges` (upstream, downstream) allow; the steps in a topological order, the
    edges the transitive reduction of their dependencies."""

    steps: tuple[PlanStep, ...] = ()
    edges: tuple[tuple[str, str], ...] = ()

    def walk(self) -> Iterator[PlanStep]:
        """Every step, and inside loops and branches every step they hold, each before what it holds."""
        for step in self.steps:
            yield step
            match step:
                case PlanTask():
                    pass
                case PlanLoop():
                    yield from step.body.walk()
                case PlanBranch():
                    yield from step.then.walk()
                    yield from step.otherwise.walk()
                case _:
                    assert_never(step)

    def levels(self) -> Iterator[Level]:
        """This level, then the levels of its loops' bodies and its branches' arms, all the way down."""
        yield self
        for step in self.steps:
            if isinstance(step, PlanLoop):
                yield from step.body.levels()
            elif isinstance(step, PlanBranch):
                yield from step.then.levels()
                yield from step.otherwise.levels()


@attrs.frozen
class ExecutionPlan:
    """A pipeline on a target: its `steps`, the `on_failure` steps run when one fails, its run-time
    `parameters`, when it starts (`schedules`, `triggers`, the `upstream` pipelines it depends on and those of
    them that start it), the `downstream` pipelines it starts, the notifications to its alert channels when it
    fails (after `on_failure`; named ``Alert 1``, ``Alert 2``...), what describes it (`description`, `env` and
    how it is kept apart from other environments' tables, `pipeline_type`, `tags`), and the datasets (with the
    environment's names), exposures and custom transformers it names."""

    pipeline: str
    target: str
    steps: Level
    on_failure: Level = Level()
    parameters: tuple[Parameter, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    upstream: tuple[str, ...] = ()
    started_by: tuple[str, ...] = ()
    """The pipelines of the project whose every success starts this one: its upstreams, when it has no schedule
    (a pipeline with a schedule runs on it, and only on it)."""
    downstream: tuple[str, ...] = ()
    """The pipelines of the project this one starts when it succeeds."""
    alerts: tuple[PlanTask, ...] = ()
    description: str = ""
    env: str = "dev"
    isolation: str = "schema"
    pipeline_type: str | None = None
    tags: tuple[Setting, ...] = ()
    datasets: tuple[Dataset, ...] = ()
    """The tables the pipeline names."""
    exposures: tuple[Exposure, ...] = ()
    custom_transformers: tuple[CustomTransformer, ...] = ()
    """The transformers of the user's that `Query` steps name."""
    span: Span | None = span_field()

    def tasks(self) -> Iterator[PlanTask]:
        """Every task of the plan, the `on_failure` ones last."""
        for level in (self.steps, self.on_failure):
            yield from (step for step in level.walk() if isinstance(step, PlanTask))
