"""The execution plan of a pipeline on a target: what runs, where, after what, with which SQL.

A plan is data (frozen attrs), printed by ``sparklec FILE --backend NAME --emit plan`` as stable JSON.
Each level of steps holds its runnable steps in a topological order and the
transitive reduction of their dependencies; transforms the target runs
inside the SQL of their readers are no steps (their queries are in their
readers' statements).
"""

from __future__ import annotations

from typing import Union

import attrs

from sparklec.ir import tasks as t
from sparklec.ir.pipeline import Parameter, Schedule, Trigger
from sparklec.ir.policy import Policy


@attrs.frozen
class CheckQuery:
    """One check of a quality gate: as written, and the query of its failing rows."""

    check: str
    sql: str


@attrs.frozen
class Gate:
    """What makes a check step fail: any failing row of any check when `severity` is ``error`` (``warn``
    reports them and goes on)."""

    severity: str
    checks: tuple[CheckQuery, ...]


@attrs.frozen
class PlanTask:
    """A step that runs: its `task_kind` (the IR kind), the `runtime` that runs it, its `policy` resolved against the
    pipeline's defaults, the complete `sql` statements the target runs in its runtime's dialect, or the
    `arguments` a job of the user's receives (its SQL among them, as ``sql``, when the columns are known well
    enough), its check `gate`, and the IR `task` itself."""

    name: str
    task_kind: str
    task: t.AnyTask
    policy: Policy
    runtime: str | None = None
    sql: tuple[str, ...] = ()
    arguments: tuple[tuple[str, str], ...] = ()
    gate: Gate | None = None


@attrs.frozen
class PlanLoop:
    """A step run once per item (`items`, or the list parameter `items_param`), `max_concurrency` at a time."""

    name: str
    var: str
    body: Level
    items: tuple[object, ...] | None = None
    items_param: str | None = None
    max_concurrency: int | None = None


@attrs.frozen
class PlanBranch:
    """A step that runs `then` when `condition` holds, else `otherwise`."""

    name: str
    condition: t.Condition
    then: Level
    otherwise: Level


PlanStep = Union[PlanTask, PlanLoop, PlanBranch]


@attrs.frozen
class Level:
    """Steps that run as their `edges` (upstream, downstream) allow; the steps in a topological order, the
    edges the transitive reduction of their dependencies."""

    steps: tuple[PlanStep, ...] = ()
    edges: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class ExecutionPlan:
    """A pipeline on a target: its `steps`, the `on_failure` steps run when one fails, its run-time
    `parameters`, when it starts (`schedules`, `triggers`, and the `upstream` pipelines it waits for), the
    `downstream` pipelines of the project that wait for it, and the channels it `alerts` on failure."""

    pipeline: str
    target: str
    steps: Level
    on_failure: Level = Level()
    parameters: tuple[Parameter, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    upstream: tuple[str, ...] = ()
    downstream: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
