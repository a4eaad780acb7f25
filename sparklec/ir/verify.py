"""The IR verifier: checks that a project means something possible.

It checks unique names, resolved references, acyclic step graphs at every
level, parameter and condition types, enumerated values, cron expressions,
policies, and — where schemas are declared — every column named by a
transformer, write or check (see `sparklec.ir.columns`).  It collects every
problem instead of stopping at the first.
"""

from __future__ import annotations

import re

from collections.abc import Iterable

from typing import TYPE_CHECKING

from sparklec.ir.pipeline import ENVS, ISOLATIONS
from sparklec.diagnostics import Diagnostic, Severity, did_you_mean, ref_span
from sparklec.ir.channels import ALERT_SCHEMES, channel
from sparklec.ir.columns import ColumnFlow
from sparklec.ir.cron import cron_problem
from sparklec.ir.formats import manifest_problem, quantity_problem, tag_value_problem, time_zone_problem
from sparklec.ir.graph import flat_graph, levels, pipeline_graph
from sparklec.ir.pipeline import (
    EXPOSURE_TYPES, MATURITIES, OBJECT_STORES, PARAM_TYPES, PIPELINE_TYPES, Pipeline, Project,
    ObjectCreatedTrigger,
)
from sparklec.ir.policy import ARTIFACT_STORES, RETRY_ON, RUNTIME_KINDS, RUNTIMES, Policy, can_run
from sparklec.diagnostics import Span
from sparklec.ir.tasks import (
    CHECK_SEVERITIES, COMPARISONS, K8S_ACTIONS, SCHEMA_CHANGES, WRITE_MODES, AllOf, AnyOf, AnyTask, Approval, Branch,
    Compare, Condition, Container, ForEach, Ingest, IsSet, KubernetesResource, Not, NotNull, Notify, ParamRef,
    VALIDATION_CHECK, QualityCheck, Relationships, Row, RunSql, Score, Script, SelectModel, Step, Task, TaskResult,
    Train, Transform, Unique, Wait, Write, kind_name, walk,
)
from typing_extensions import assert_never
from sparklec.ir.values import Value, scalar_fits_type

if TYPE_CHECKING:
    import networkx as nx


def verify(project: Project) -> list[Diagnostic]:
    """Every problem in `project`, errors and warnings, in a stable order."""
    diagnostics: list[Diagnostic] = []
    seen: dict[str, Pipeline] = {}
    for pipeline in project.pipelines:
        if pipeline.name in seen:
            diagnostics.append(_duplicate("pipeline", pipeline.name, pipeline.span))
        seen[pipeline.name] = pipeline
        diagnostics.extend(_PipelineVerifier(pipeline).run())
    names = set(seen)
    for pipeline in project.pipelines:
        for upstream in pipeline.depends_on:
            if upstream == pipeline.name:
                diagnostics.append(Diagnostic(
                    code="E203", message=f"pipeline `{upstream}` depends on itself", span=pipeline.span,
                ))
            elif upstream not in names and len(project.pipelines) > 1:
                diagnostics.append(Diagnostic(
                    code="W201", severity=Severity.WARNING, span=pipeline.span,
                    message=f"pipeline `{pipeline.name}` depends on `{upstream}`, which is not in this project",
                    help=did_you_mean(upstream, names - {pipeline.name}) or "it is treated as an external dependency",
                ))
    if any(u in names for p in project.pipelines for u in p.depends_on):
        import networkx

        try:
            cycle = networkx.find_cycle(pipeline_graph(project))
            diagnostics.append(Diagnostic(
                code="E203",
                message="pipelines depend on each other in a cycle: "
                + " -> ".join([u for u, _ in cycle] + [cycle[0][0]]),
                span=seen[cycle[0][0]].span,
            ))
        except networkx.NetworkXNoCycle:
            pass
    return diagnostics


def _duplicate(kind: str, name: str, span: Span | None) -> Diagnostic:
    return Diagnostic(
        code="E201", message=f"{kind} `{name}` is defined more than once", span=span,
        help="give each one its own name",
    )


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


_OTHER_WORDS = {"upsert": "merge", "insert": "append", "replace": "overwrite", "insert_overwrite": "overwrite",
                "delete+insert": "merge", "truncate": "overwrite", "full_refresh": "overwrite"}
"""Write modes as other tools name them."""


def _choice(value: str, choices: Iterable[str], what: str, span: Span | None) -> Diagnostic | None:
    choices = tuple(choices)
    if value in choices:
        return None
    other = _OTHER_WORDS.get(value.lower())
    return Diagnostic(
        code="E209", message=f"{what} `{value}` is not one of {', '.join(choices)}", span=span,
        help=f"did you mean `{other}`?" if other in choices else did_you_mean(value, choices),
    )


class _PipelineVerifier:
    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.diagnostics: list[Diagnostic] = []
        self.steps = walk(pipeline.steps)
        self.tasks = {s.name: s for s in self.steps if isinstance(s, Task)}
        self.step_names = {s.name for s in self.steps}
        self.datasets = {d.name for d in pipeline.datasets}
        self.relations = self.datasets | {n for n, t in self.tasks.items() if t.produces_relation}
        self.params = {p.name: p for p in pipeline.parameters}
        self.columns = ColumnFlow(pipeline, self.diagnostics.append)
        self.happens_before: nx.DiGraph | None = None

    def error(self, code: str, message: str, span: Span | None, help: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code=code, message=message, span=span, help=help))

    def run(self) -> list[Diagnostic]:
        pipeline = self.pipeline
        self._add(_choice(pipeline.env, ENVS, "environment", pipeline.span))
        self._add(_choice(pipeline.isolation, ISOLATIONS, "environment isolation", pipeline.span))
        if pipeline.pipeline_type is not None:
            self._add(_choice(pipeline.pipeline_type, PIPELINE_TYPES, "pipeline type", pipeline.span))
        self._unique_names()
        self._table_names()
        self._parameters()
        for schedule in pipeline.schedules:
            problem = cron_problem(schedule.cron)
            if problem:
                self.error("E210", f"invalid schedule `{schedule.cron}`: {problem}", schedule.span,
                           "write it as `minute hour day-of-month month day-of-week`, e.g. `0 2 * * *`")
            problem = time_zone_problem(schedule.timezone)
            if problem:
                self.error("E210", f"invalid schedule time zone: {problem}", schedule.span,
                           "write a name such as `UTC`, `Europe/Paris` or `America/New_York`")
        for tag in pipeline.tags:
            problem = tag_value_problem(str(tag.value)) or tag_value_problem(tag.key)
            if problem:
                self.error("E219", f"tag `{tag.key}`: {problem}", tag.span or pipeline.span,
                           "AWS, Kubernetes and dbt all take tags of letters, digits, spaces and `_.:/=+-@`")
        for trigger in pipeline.triggers:
            if isinstance(trigger, ObjectCreatedTrigger):
                self._add(_choice(trigger.store, OBJECT_STORES, "object store", trigger.span))
        for alert in pipeline.alerts:
            if not channel(alert).known:
                self.error("E209", f"alert channel `{alert}` has no known scheme", pipeline.span,
                           f"start it with one of {', '.join(s + '://' for s in ALERT_SCHEMES)}, "
                           "or give an SNS topic ARN")
        self._policy(pipeline.defaults)
        for _, graph in levels(pipeline):
            cycle = graph.find_cycle()
            if cycle:
                first = graph.steps[cycle[0]]
                self.error("E203", "steps wait for each other in a cycle: "
                           + " -> ".join(cycle + [cycle[0]]), first.span,
                           "remove one of the `after` dependencies or reads that close the loop")
        for step in self.steps:
            self._step(step)
        for task in pipeline.on_failure:
            self._task(task)
        self._arms()
        for exposure in pipeline.exposures:
            self._add(_choice(exposure.type, EXPOSURE_TYPES, "exposure type", exposure.span))
            self._add(_choice(exposure.maturity, MATURITIES, "maturity", exposure.span))
            for name in exposure.depends_on:
                self._reference(name, self.relations, "relation", ref_span(exposure, name))
        return self.diagnostics

    def _add(self, diagnostic: Diagnostic | None) -> None:
        if diagnostic is not None:
            self.diagnostics.append(diagnostic)

    def _unique_names(self) -> None:
        seen: set[str] = set()
        for dataset in self.pipeline.datasets:
            if dataset.name in seen:
                self.diagnostics.append(_duplicate("dataset", dataset.name, dataset.span))
            seen.add(dataset.name)
            column_names: set[str] = set()
            for column in dataset.columns:
                if column.name in column_names:
                    self.diagnostics.append(_duplicate("column", column.name, column.span))
                column_names.add(column.name)
        for step in (*self.steps, *self.pipeline.on_failure):
            if step.name in seen:
                self.diagnostics.append(_duplicate("step or dataset", step.name, step.span))
            seen.add(step.name)
        for kind, items in (
            ("parameter", self.pipeline.parameters),
            ("custom transformer", self.pipeline.custom_transformers),
            ("exposure", self.pipeline.exposures),
        ):
            names: set[str] = set()
            for item in items:
                if item.name in names:
                    self.diagnostics.append(_duplicate(kind, item.name, item.span))
                names.add(item.name)

    def _parameters(self) -> None:
        for param in self.pipeline.parameters:
            self._variable_name(param.name, "parameter", param.span)
            if param.type not in PARAM_TYPES:
                self._add(_choice(param.type, PARAM_TYPES, "parameter type", param.span))
            elif param.default is not None and not _value_fits(param.default, param.type):
                self.error("E207", f"default {param.default!r} of parameter `{param.name}` is not of type {param.type}",
                           param.span)

    def _reference(self, name: str, known: set[str], what: str, span: Span | None, referrer: str = "") -> bool:
        """Whether `name` is `known`; else E202, suggesting a close name other than the `referrer`'s own."""
        if name in known:
            return True
        known = known - {referrer}
        listed = ", ".join(sorted(known)[:8]) + (", ..." if len(known) > 8 else "")
        self.error("E202", f"unknown {what} `{name}`", span,
                   did_you_mean(name, known) or (f"known: {listed}" if known else f"declare the {what} first"))
        return False

    def _step(self, step: Step) -> None:
        for name in step.after:
            self._reference(name, self.step_names, "step", ref_span(step, name), step.name)
        if isinstance(step, ForEach):
            self._foreach(step)
        elif isinstance(step, Branch):
            self._condition(step.condition, step)
            if not step.then and not step.otherwise:
                self.error("E209", f"branch `{step.name}` has no steps in either arm", step.span)
        else:
            self._task(step)

    def _variable_name(self, name: str, what: str, span: Span | None) -> None:
        """A parameter or loop variable is named in text as ``${name}``: its name is a plain identifier."""
        if not _VARIABLE.fullmatch(name):
            self.error("E221", f"{what} `{name}` cannot be named as `${{{name}}}`", span,
                       "name it with letters, digits and `_`, starting with a letter or `_`")

    def _foreach(self, step: ForEach) -> None:
        self._variable_name(step.var, "loop variable", step.span)
        if (step.items is None) == (step.items_param is None):
            self.error("E209", f"foreach `{step.name}` needs either a list of items or a list parameter",
                       step.span)
        if step.items_param is not None and self._reference(
            step.items_param, set(self.params), "parameter", ref_span(step, step.items_param)
        ):
            param_type = self.params[step.items_param].type
            if not param_type.startswith("list<"):
                self.error("E207", f"foreach `{step.name}` iterates over `{step.items_param}`, "
                           f"a {param_type}, not a list", step.span)
        if not step.body:
            self.error("E209", f"foreach `{step.name}` has no steps", step.span, "add the steps to run per item")
        if step.max_concurrency is not None and step.max_concurrency < 1:
            self.error("E211", "max concurrency must be at least 1", step.span)

    def _condition(self, condition: Condition, branch: Branch) -> None:
        if isinstance(condition, (AllOf, AnyOf)):
            for inner in condition.conditions:
                self._condition(inner, branch)
        elif isinstance(condition, Not):
            self._condition(condition.condition, branch)
        else:
            operand = condition.operand if isinstance(condition, IsSet) else condition.left
            param_type = self._operand(operand, branch)
            if isinstance(condition, Compare):
                self._add(_choice(condition.op, COMPARISONS, "comparison", condition.span))
                if param_type and not _value_fits(condition.right, param_type):
                    self.error("E207", f"`{operand.name}` is of type {param_type}; "  # type: ignore[union-attr]
                               f"it cannot be compared with {condition.right!r}", condition.span)

    def _operand(self, operand: ParamRef | TaskResult, branch: Branch) -> str | None:
        if isinstance(operand, ParamRef):
            if self._reference(operand.name, set(self.params), "parameter", operand.span):
                return self.params[operand.name].type
            return None
        if self._reference(operand.task, set(self.tasks), "task", operand.span):
            if self.happens_before is None:
                self.happens_before = flat_graph(self.pipeline)
            import networkx

            if not self.happens_before.has_node(branch.name) or operand.task not in networkx.ancestors(
                self.happens_before, branch.name
            ):
                self.error("E214", f"branch `{branch.name}` reads the result of `{operand.task}`, "
                           "which does not run before it", operand.span,
                           f"add `{operand.task}` to the branch's `after` list")
        return None

    def _task(self, task: AnyTask) -> None:
        self._policy(task.policy)
        runtime, kind = task.policy.runtime, kind_name(task)
        able = [r for r in RUNTIME_KINDS if can_run(r, kind)]
        if runtime in RUNTIME_KINDS and able and not can_run(runtime, kind):
            self.error("E209", f"runtime `{runtime}` cannot run {kind.replace('_', ' ')} task `{task.name}`",
                       task.policy.span or task.span, f"use one of: {', '.join(able)}")
        for relation in task.reads():
            self._reference(relation, self.relations, "relation", ref_span(task, relation), task.name)
        for artifact in task.inputs + task.outputs:
            if artifact.store is not None:
                self._add(_choice(artifact.store, ARTIFACT_STORES, "artifact store", artifact.span))
            if artifact.source is not None:
                producer = artifact.source.split(".", 1)[0]
                self._reference(producer, set(self.tasks), "task", artifact.span, task.name)
        match task:
            case RunSql():
                for dataset in task.tables():
                    self._reference(dataset, self.datasets, "dataset", task.span, task.name)
            case Write():
                self._add(_choice(task.mode, WRITE_MODES, "write mode", ref_span(task, task.mode)))
                self._add(_choice(task.schema_change, SCHEMA_CHANGES, "schema change policy",
                                  ref_span(task, task.schema_change)))
                self._reference(task.target, self.datasets, "dataset", ref_span(task, task.target))
                if task.mode == "merge" and not task.unique_key:
                    self.error("E217", f"write `{task.name}` merges without a unique key", task.span,
                               "add `unique_key` (the columns that identify a row)")
                keys = task.unique_key + task.partition_by + ((task.watermark,) if task.watermark else ())
                self.columns.require(task.input, keys, task.span, f"write `{task.name}`")
            case QualityCheck():
                self._add(_choice(task.severity, CHECK_SEVERITIES, "check severity", task.span))
                for check in task.checks:
                    if isinstance(check, (NotNull, Unique)) and not check.column_names:
                        self.error("E209", f"a {'not_null' if isinstance(check, NotNull) else 'unique'} check of "
                                   f"`{task.name}` names no column", check.span or task.span, "name the columns to check")
                    self.columns.require(task.input, check.columns(), check.span or task.span, "a check")
                    if isinstance(check, Relationships) and check.to in self.relations:
                        self.columns.require(check.to, (check.field,), check.span or task.span, "a check")
            case Train():
                target = (task.target_column,) if task.target_column else ()
                self.columns.require(task.input, task.feature_columns + target, task.span,
                                     f"training task `{task.name}`")
            case SelectModel():
                for candidate in task.candidates:
                    if self._reference(candidate, set(self.tasks), "training task", ref_span(task, candidate)) and not isinstance(
                        self.tasks[candidate], Train
                    ):
                        self.error("E213", f"`{candidate}` is not a training task", task.span)
                for rule in task.validation:
                    if not VALIDATION_CHECK.fullmatch(rule):
                        self.error("E209", f"model validation check `{rule}` of `{task.name}` is not a metric, a "
                                           "comparison and a number", task.span, 'write it as e.g. "auc >= 0.75"')
            case KubernetesResource():
                self._add(_choice(task.action, K8S_ACTIONS, "resource action", task.span))
                problem = manifest_problem(task.manifest)
                if problem:
                    self.error("E219", f"the manifest of `{task.name}` cannot be applied: {problem}", task.span,
                               "give one complete Kubernetes object in YAML")
            case Wait():
                if task.seconds < 0:
                    self.error("E211", "a wait must not be negative", task.span)
            case Transform():
                self._examples(task)
            case Ingest() | Score() | RunSql() | Notify() | Container() | Script() | Approval():
                pass
            case _:
                assert_never(task)
        if task.produces_relation:
            self.columns.schema(task.name)

    def _examples(self, task: Transform) -> None:
        names: set[str] = set()
        for example in task.examples:
            if example.name in names:
                self.diagnostics.append(_duplicate("example", example.name, example.span))
            names.add(example.name)
            given = {g.relation: g for g in example.given}
            for relation in task.reads():
                if relation not in given:
                    self.error("E218", f"example `{example.name}` gives no rows for `{relation}`, which "
                               f"`{task.name}` reads", example.span, f"add `given {relation} [...]` (it may be `[]`)")
            for item in example.given:
                if item.relation not in task.reads():
                    self.error("E218", f"example `{example.name}` gives rows for `{item.relation}`, which "
                               f"`{task.name}` does not read", item.span,
                               f"give rows for what it reads: {', '.join(task.reads())}")
                elif given[item.relation] is not item:
                    self.error("E218", f"example `{example.name}` gives `{item.relation}` twice", item.span,
                               "put all its rows in one `given`")
                else:
                    self._rows(item.relation, item.rows, item.span or example.span, f"example `{example.name}`")
            self._rows(task.name, example.expect, example.span, f"example `{example.name}`")
            if len({frozenset(c.key for c in row) for row in example.expect}) > 1:
                self.error("E218", f"the expected rows of example `{example.name}` name different columns",
                           example.span, "name the same columns in every expected row: those are compared")

    def _rows(self, relation: str, rows: tuple[Row, ...], span: Span | None, what: str) -> None:
        """Each row names a column once, known columns only, with values of the column's type."""
        schema = self.columns.schema(relation)
        types = {c.name: c.type for c in schema or ()}
        for row in rows:
            keys = [cell.key for cell in row]
            for key in {k for k in keys if keys.count(k) > 1}:
                self.error("E218", f"{what} names column `{key}` twice in one row of `{relation}`", span)
            self.columns.require(relation, tuple(keys), span, what)
            for cell in row:
                if isinstance(cell.value, tuple):
                    self.error("E218", f"{what} gives a list for `{cell.key}`; example values are scalars", span)
                elif not scalar_fits_type(cell.value, types.get(cell.key)):
                    self.error("E205", f"{what} gives {cell.value!r} for `{cell.key}`, a {types[cell.key]} column "
                               f"of `{relation}`", span, "dates and timestamps are written as strings")

    def _table_names(self) -> None:
        """Catalogs, schemas and tables are plain names: every target's SQL, and paths, can hold them."""
        for dataset in self.pipeline.datasets:
            for what, part in (("catalog", dataset.catalog), ("schema", dataset.schema), ("table", dataset.table)):
                if part is not None and not _PLAIN_NAME.fullmatch(part):
                    self.error("E220", f"the {what} of `{dataset.name}` is `{part}`, which is not a plain name",
                               dataset.span, "catalogs, schemas and tables are letters, digits and `_`, starting "
                                             "with a letter or `_`, at most 128 characters")

    def _policy(self, policy: Policy) -> None:
        if policy.runtime is not None:
            self._add(_choice(policy.runtime, RUNTIMES, "runtime", policy.span))
        resources = policy.resources
        quantities = (resources.cpu_request, resources.memory_request, resources.cpu_limit,
                      resources.memory_limit) if resources is not None else ()
        for problem in filter(None, (quantity_problem(q) for q in quantities if q is not None)):
            self.error("E211", f"invalid resources: {problem}", (resources and resources.span) or policy.span,
                       "cpu is cores (`2`, `500m`), memory bytes with a unit (`512Mi`, `4Gi`)")
        if policy.timeout is not None and policy.timeout <= 0:
            self.error("E211", "a timeout must be positive", policy.span)
        retry = policy.retry
        if retry is not None:
            if retry.limit < 0 or retry.interval < 0:
                self.error("E211", "retry limit and interval must not be negative", retry.span)
            if retry.backoff < 1:
                self.error("E211", f"retry backoff {retry.backoff} must be at least 1", retry.span)
            if retry.max_delay is not None and retry.max_delay < retry.interval:
                self.error("E211", "retry max delay is shorter than the interval", retry.span)
            for error in retry.on:
                self._add(_choice(error, RETRY_ON, "retry condition", retry.span))

    def _arms(self) -> None:
        """A step in one arm of a branch may not wait for a step in the other arm."""
        for step in self.steps:
            if isinstance(step, Branch):
                then = {s.name for s in walk(step.then)}
                otherwise = {s.name for s in walk(step.otherwise)}
                for arm, other in ((step.then, otherwise), (step.otherwise, then)):
                    for inner in walk(arm):
                        for name in inner.after:
                            if name in other:
                                self.error("E215", f"`{inner.name}` waits for `{name}` in the other arm "
                                           f"of branch `{step.name}`; only one arm runs", inner.span)


def _value_fits(value: Value, param_type: str) -> bool:
    if param_type.startswith("list<"):
        item_type = param_type[5:-1]
        return isinstance(value, tuple) and all(_value_fits(v, item_type) for v in value)
    if isinstance(value, tuple):
        return False
    column_type = {"int": "bigint", "float": "double", "bool": "boolean"}.get(param_type, param_type)
    return scalar_fits_type(value, column_type)
