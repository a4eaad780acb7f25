"""Tasks, control-flow groups and conditions: the nodes of a pipeline's DAG.

A pipeline's `steps` are tasks and groups.  Edges come from two places: a
step's `after` list (control dependencies) and the relations a task reads
(`Transform.input`, `Write.input`, ...; data dependencies).  A `ForEach` runs
its body once per item; a `Branch` runs `then` or `otherwise` by a condition.
A name inside a group's body may be named in `after` from outside: it stands
for the whole group.
"""

from __future__ import annotations

import re
from typing import Literal, Union

import attrs

from sparklec.ir.policy import Artifact, Policy, can_run
from sparklec.diagnostics import RefSpans, Span, ref_spans_field, span_field
from sparklec.ir.transformers import Op
from sparklec.ir.values import Column, Scalar, Setting, Value, settings_field

WRITE_MODES: tuple[str, ...] = ("append", "overwrite", "merge", "incremental")
SCHEMA_CHANGES: tuple[str, ...] = ("fail", "append_new_columns", "sync_all_columns", "ignore")
CHECK_SEVERITIES: tuple[str, ...] = ("error", "warn")
K8S_ACTIONS: tuple[str, ...] = ("get", "create", "apply", "delete", "replace", "patch")
COMPARISONS: tuple[str, ...] = ("==", "!=", "<", "<=", ">", ">=")
SQL_REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@attrs.frozen(kw_only=True)
class Task:
    """What every task has: a name, control dependencies, a policy and artifacts."""

    name: str
    after: tuple[str, ...] = ()
    policy: Policy = Policy()
    inputs: tuple[Artifact, ...] = ()
    outputs: tuple[Artifact, ...] = ()
    description: str = ""
    span: Span | None = span_field()
    ref_spans: RefSpans = ref_spans_field()

    def reads(self) -> tuple[str, ...]:
        """Relations (datasets or relation-producing tasks) this task reads."""
        return ()

    def waits_for(self) -> tuple[str, ...]:
        """Tasks this one needs finished besides `after` and the relations it reads."""
        return tuple(dict.fromkeys(a.source.split(".", 1)[0] for a in self.inputs if a.source))

    @property
    def produces_relation(self) -> bool:
        """Whether other tasks can read this task's result as a relation."""
        return False


@attrs.frozen(kw_only=True)
class Ingest(Task):
    """Extract `source` from `source_system` with an `ingestor` (jdbc_postgres, autoloader, kafka, ...)."""

    ingestor: str
    source: str
    source_system: str = ""
    connection: str | None = None
    options: tuple[Setting, ...] = settings_field()
    columns: tuple[Column, ...] = ()
    watermark: str | None = None
    streaming: bool = False
    checkpoint: str | None = None

    @property
    def produces_relation(self) -> bool:
        return True


Row = tuple[Setting, ...]
"""One literal row: column → scalar."""


@attrs.frozen(kw_only=True)
class Given:
    """The rows a relation holds in an `Example`."""

    relation: str
    rows: tuple[Row, ...]
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class Example:
    """A worked example of a transform: rows for the relations it reads, and (some columns of) the rows it gives.

    Backends that test models (dbt's unit tests) check the transform against it.
    """

    name: str
    given: tuple[Given, ...]
    expect: tuple[Row, ...]
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class Transform(Task):
    """A relation: `input` (or the SELECT in `sql`) followed by a chain of transformer `steps`.

    In `sql`, other relations are named as ``{{ name }}``.
    """

    input: str | None = None
    sql: str | None = None
    steps: tuple[Op, ...] = ()
    examples: tuple[Example, ...] = ()

    def reads(self) -> tuple[str, ...]:
        base = SQL_REFERENCE.findall(self.sql) if self.sql is not None else [self.input] if self.input else []
        return tuple(dict.fromkeys((*base, *(name for op in self.steps for name, _ in op.relations_read()))))

    @property
    def produces_relation(self) -> bool:
        return True


@attrs.frozen(kw_only=True)
class Write(Task):
    """Materialise the relation `input` into the dataset `target`.

    With a `watermark`, every `mode` but ``overwrite`` writes only the rows
    whose watermark is newer than the target's newest; ``merge`` (and
    ``incremental`` with a `unique_key`) replaces rows by key, ``append`` adds
    them; ``overwrite`` with `partition_by` replaces the partitions that
    arrive.  `schema_change` says what happens when the columns change.
    """

    input: str
    target: str
    mode: str = "append"
    unique_key: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    watermark: str | None = None
    schema_change: str = "fail"

    def reads(self) -> tuple[str, ...]:
        return (self.input,)


@attrs.frozen(kw_only=True)
class Check:
    """One data-quality expectation on a relation."""

    span: Span | None = span_field()

    def columns(self) -> tuple[str, ...]:
        return ()


@attrs.frozen(kw_only=True)
class NotNull(Check):
    column_names: tuple[str, ...]

    def columns(self) -> tuple[str, ...]:
        return self.column_names


@attrs.frozen(kw_only=True)
class Unique(Check):
    """The combination of `column_names` is unique."""

    column_names: tuple[str, ...]

    def columns(self) -> tuple[str, ...]:
        return self.column_names


@attrs.frozen(kw_only=True)
class AcceptedValues(Check):
    column: str
    values: tuple[Scalar, ...]

    def columns(self) -> tuple[str, ...]:
        return (self.column,)


@attrs.frozen(kw_only=True)
class Relationships(Check):
    """Every non-NULL `column` value exists in `to`.`field`."""

    column: str
    to: str
    field: str

    def columns(self) -> tuple[str, ...]:
        return (self.column,)


@attrs.frozen(kw_only=True)
class MatchesRegex(Check):
    column: str
    pattern: str

    def columns(self) -> tuple[str, ...]:
        return (self.column,)


@attrs.frozen(kw_only=True)
class EmailFormat(Check):
    column: str

    def columns(self) -> tuple[str, ...]:
        return (self.column,)


@attrs.frozen(kw_only=True)
class RowCount(Check):
    minimum: int | None = None
    maximum: int | None = None


@attrs.frozen(kw_only=True)
class Freshness(Check):
    """The newest `column` value is at most `max_age` seconds old."""

    column: str
    max_age: int

    def columns(self) -> tuple[str, ...]:
        return (self.column,)


@attrs.frozen(kw_only=True)
class CustomSqlCheck(Check):
    """A SELECT returning the failing rows; ``{{ input }}`` names the checked relation,
    ``{{ name }}`` any other relation."""

    name: str
    sql: str


AnyCheck = Union[NotNull, Unique, AcceptedValues, Relationships, MatchesRegex, EmailFormat, RowCount, Freshness,
                 CustomSqlCheck]
"""Every kind of check, for dispatch that must handle them all."""


@attrs.frozen(kw_only=True)
class QualityCheck(Task):
    """Check `input` against `checks`; `severity` ``error`` fails the pipeline, ``warn`` reports."""

    input: str
    checks: tuple[AnyCheck, ...]
    severity: str = "error"

    def reads(self) -> tuple[str, ...]:
        targets = [c.to for c in self.checks if isinstance(c, Relationships)]
        for check in self.checks:
            if isinstance(check, CustomSqlCheck):
                targets.extend(n for n in SQL_REFERENCE.findall(check.sql) if n != "input")
        return tuple(dict.fromkeys((self.input, *targets)))


@attrs.frozen(kw_only=True)
class Train(Task):
    """Train `model_name` with `algorithm` on `input`'s feature columns."""

    input: str
    model_name: str
    feature_columns: tuple[str, ...] = ()
    target_column: str = ""
    algorithm: str = "default"
    params: tuple[Setting, ...] = settings_field()
    training: tuple[Setting, ...] = settings_field()
    """How the job trains: `train_test_split`, `stratify`, `random_state`, `feature_importance`, ..."""

    def reads(self) -> tuple[str, ...]:
        return (self.input,)


VALIDATION_CHECK = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*(>=|<=|==|!=|>|<)\s*-?\d+(\.\d+)?\s*$")
"""A model validation check: a metric, a comparison and a number (``auc >= 0.75``)."""


@attrs.frozen(kw_only=True)
class SelectModel(Task):
    """Compare trained `candidates` on `metric` and promote the best as `model_name`'s champion: only when its
    metric reaches `minimum` and beats the current champion's by `improvement`, and, with `validation` checks,
    when they hold (else the task fails, or with `fail_on_invalid` false, the champion stays)."""

    model_name: str
    candidates: tuple[str, ...]
    metric: str = "auc"
    higher_is_better: bool = True
    minimum: float | None = None
    improvement: float | None = None
    validation: tuple[str, ...] = ()
    fail_on_invalid: bool = True
    registration: tuple[Setting, ...] = settings_field()
    """Where the champion is registered: ``mlflow.*`` and ``unity_catalog.*`` settings."""

    def waits_for(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*super().waits_for(), *self.candidates)))


@attrs.frozen(kw_only=True)
class Score(Task):
    """Score `input` with `model_name` at `stage`; produces `input` plus `prediction_column`."""

    input: str
    model_name: str
    stage: str = "champion"
    feature_columns: tuple[str, ...] = ()
    prediction_column: str = "prediction"

    def reads(self) -> tuple[str, ...]:
        return (self.input,)

    @property
    def produces_relation(self) -> bool:
        return True


@attrs.frozen(kw_only=True)
class RunSql(Task):
    """SQL statements run for their effect (maintenance, grants, tags, clones); a dataset is named in them as
    ``{{ name }}``, which becomes its table on each target."""

    statements: tuple[str, ...]

    def tables(self) -> tuple[str, ...]:
        """The datasets the statements name."""
        return tuple(dict.fromkeys(n for s in self.statements for n in SQL_REFERENCE.findall(s)))


@attrs.frozen(kw_only=True)
class Notify(Task):
    """Send `message` to `channel` (``slack://...``, ``email://...``, an SNS topic ARN, ...)."""

    channel: str
    message: str = ""
    subject: str = ""


@attrs.frozen(kw_only=True)
class Container(Task):
    """Run `image` with `command` and `args`."""

    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[Setting, ...] = settings_field()


@attrs.frozen(kw_only=True)
class Script(Task):
    """Run inline `source` code (Python) in `image`."""

    source: str
    language: Literal["python"] = "python"
    image: str = "python:3.12-slim"


@attrs.frozen(kw_only=True)
class KubernetesResource(Task):
    """Apply `action` to a Kubernetes `manifest` (YAML), optionally waiting for a condition."""

    action: str
    manifest: str
    success_condition: str | None = None
    failure_condition: str | None = None


@attrs.frozen(kw_only=True)
class Approval(Task):
    """Pause until a person approves (`prompt` tells them what)."""

    prompt: str = ""


@attrs.frozen(kw_only=True)
class Wait(Task):
    seconds: int


# --- conditions ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ParamRef:
    """The value of a pipeline parameter."""

    name: str
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class TaskResult:
    """A field of an upstream task's result (e.g. ``check.status``, ``count.rows``)."""

    task: str
    field: str
    span: Span | None = span_field()


Operand = Union[ParamRef, TaskResult]


@attrs.frozen(kw_only=True)
class Compare:
    left: Operand
    op: str
    right: Scalar
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class IsSet:
    """True when the operand has a value."""

    operand: Operand
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class AllOf:
    conditions: tuple[Condition, ...]
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class AnyOf:
    conditions: tuple[Condition, ...]
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class Not:
    condition: Condition
    span: Span | None = span_field()


Condition = Union[Compare, IsSet, AllOf, AnyOf, Not]


def condition_results(condition: Condition) -> list[TaskResult]:
    """The task results `condition` reads, in order."""
    if isinstance(condition, (AllOf, AnyOf)):
        return [result for inner in condition.conditions for result in condition_results(inner)]
    if isinstance(condition, Not):
        return condition_results(condition.condition)
    operand = condition.operand if isinstance(condition, IsSet) else condition.left
    return [operand] if isinstance(operand, TaskResult) else []


# --- groups --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ForEach:
    """Run `body` once per item of `items` (a literal list, or the list parameter `items_param`)."""

    name: str
    var: str
    items: tuple[Value, ...] | None = None
    items_param: str | None = None
    max_concurrency: int | None = None
    body: tuple[Step, ...] = ()
    after: tuple[str, ...] = ()
    span: Span | None = span_field()
    ref_spans: RefSpans = ref_spans_field()


@attrs.frozen(kw_only=True)
class Branch:
    """Run `then` when `condition` holds, otherwise `otherwise`."""

    name: str
    condition: Condition
    then: tuple[Step, ...] = ()
    otherwise: tuple[Step, ...] = ()
    after: tuple[str, ...] = ()
    span: Span | None = span_field()
    ref_spans: RefSpans = ref_spans_field()


AnyTask = Union[Ingest, Transform, Write, QualityCheck, Train, SelectModel, Score, RunSql, Notify, Container, Script,
                KubernetesResource, Approval, Wait]
"""Every kind of task, for dispatch that must handle them all (`match` ending in `assert_never`)."""

Step = Union[AnyTask, ForEach, Branch]


def kind_name(step: Task | ForEach | Branch) -> str:
    """The snake-case kind of a step: ``quality_check``, ``run_sql``, ``foreach``, ..."""
    return "foreach" if isinstance(step, ForEach) else re.sub(r"(?<!^)(?=[A-Z])", "_", type(step).__name__).lower()


def runtime_of(task: AnyTask, defaults: Policy) -> str | None:
    """Where `task` runs: its own runtime, else the pipeline's default when that can run it (None: neither)."""
    kind = kind_name(task)
    return next((r for r in (task.policy.runtime, defaults.runtime) if can_run(r, kind)), None)


def bodies(step: Step) -> tuple[tuple[Step, ...], ...]:
    """The step lists directly inside a group: a loop's body, a branch's two arms."""
    if isinstance(step, ForEach):
        return (step.body,)
    if isinstance(step, Branch):
        return (step.then, step.otherwise)
    return ()


def children(step: Step) -> tuple[Step, ...]:
    """The steps directly inside a group (none for a task)."""
    return tuple(s for body in bodies(step) for s in body)


def walk(steps: tuple[Step, ...]) -> list[Step]:
    """Every step, groups before their bodies, in source order."""
    result: list[Step] = []
    for step in steps:
        result.append(step)
        result.extend(walk(children(step)))
    return result
