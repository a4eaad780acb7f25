"""Which dbt model, source or test each step of the execution plans becomes.

Every `Query` step is a model: the one a `Materialize` step writes takes the
target table's name and the write's configuration; any other is an
intermediate model (a view by default).  A write that waits for a check is
a model of its own reading the query's, so `dbt build` runs the check's tests
on it before anything is written (a failing check leaves the table as it
was).  A check whose relation another step reads without waiting for it
(or a table another pipeline uses) gets a view of its own that holds its tests,
so that only the steps that wait for it are skipped when it fails.  Datasets nobody in the project
writes, and the `Landing` tables of ingestions, are sources.  Names are unique across the project: a name used
twice is prefixed with its pipeline's name.
"""

from __future__ import annotations

from collections import Counter

import attrs

from sparklec.diagnostics import Diagnostic, LoweringError
from sparklec.ir.pipeline import Dataset
from sparklec.ir.transformers import ScdType2, Schema
from sparklec.lowering import (
    Checks, ExecutionPlan, Landing, Level, Materialize, PlanTask, Query, TargetProfile, defaults,
)
from sparklec.sql.tasks import plain_identifier

PROFILE = TargetProfile(name="dbt", runtimes=defaults("databricks", "databricks", "k8s"), warehouse=True)
"""dbt builds transforms, writes and checks in its warehouse; the plan says where the rest would run."""


@attrs.frozen
class Source:
    """A dbt source table: `source(name, table)`."""

    name: str
    table: str
    schema: str
    database: str | None = None
    columns: Schema = ()
    description: str = ""


@attrs.frozen
class Model:
    """A dbt model made from one `Query` step of `plan` (`task`; for a write of its own, the write's step with
    a query that copies its input), materialised by at most one `Materialize` step (`write`).

    A written chain that ends in `scd_type2` keeps its history with a dbt
    snapshot: the chain before it is the model `<name>__changes`, the snapshot
    `<name>__history` (dbt's `check` strategy) keeps every version, and the
    model `<name>` — the target table — is the history with `is_current`.
    """

    name: str
    plan: ExecutionPlan
    task: PlanTask
    query: Query
    write: PlanTask | None = None

    @property
    def pipeline(self) -> str:
        return self.plan.pipeline

    @property
    def materialize(self) -> Materialize | None:
        """How the model is written, when it is."""
        return self.write.action if self.write is not None and isinstance(self.write.action, Materialize) else None

    @property
    def target(self) -> Dataset | None:
        """The table the model is, when it is written."""
        return self.materialize.target if self.materialize else None

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks the model runs: its query's (unless it only copies the written relation) and the write."""
        return tuple(dict.fromkeys((self.task.name, *((self.write.name,) if self.write else ()))))

    @property
    def history(self) -> ScdType2 | None:
        last = self.query.steps[-1] if self.query.steps else None
        return last if isinstance(last, ScdType2) and self.write is not None else None

    @property
    def changes(self) -> str:
        """The name of the model a snapshot reads."""
        return f"{self.name}__changes"

    @property
    def snapshot(self) -> str:
        """The name of the snapshot that keeps the versions."""
        return f"{self.name}__history"


@attrs.frozen
class Nodes:
    """Everything the project holds, with the relation → dbt reference of every pipeline."""

    models: tuple[Model, ...]
    sources: tuple[Source, ...]
    references: dict[tuple[str, str], str]
    """(pipeline, relation) → the Jinja expression that names it: ``ref('m')`` or ``source('s', 't')``."""
    model_of: dict[tuple[str, str], str]
    """(pipeline, relation) → the model a check or exposure on that relation attaches to."""
    runs_in: dict[tuple[str, str], str]
    """(pipeline, task) → the model that runs it, or, for a check, the model holding the relation it tests (tests of
    a model run before the models that depend on it)."""
    skipped: tuple[tuple[str, PlanTask], ...]
    """Steps dbt does not run (ingestion, containers, notifications, ML), by pipeline."""
    waits_for: dict[tuple[str, str], tuple[str, ...]]
    """(pipeline, task) → the steps it waits for that it does not read from."""

    def waits(self, model: Model) -> list[str]:
        """The other models `model` waits for with no data between them."""
        pipeline = model.pipeline
        reads = self.model_of.get((pipeline, model.query.input or ""))
        waited = (self.runs_in[(pipeline, step)] for task in model.tasks
                  for step in self.waits_for.get((pipeline, task), ()) if (pipeline, step) in self.runs_in)
        return [name for name in dict.fromkeys(waited) if name not in (model.name, reads)]


def nodes(plans: tuple[ExecutionPlan, ...]) -> Nodes:
    """Map the steps of every plan onto models, sources and references."""
    candidates: list[tuple[ExecutionPlan, PlanTask, Query, PlanTask | None, str]] = []
    skipped: list[tuple[str, PlanTask]] = []
    waits_for: dict[tuple[str, str], tuple[str, ...]] = {}
    used = {plan.pipeline: _tables_used(plan) for plan in plans}
    for plan in plans:
        shared = {d.name for d in plan.datasets
                  if any(d.qualified_name in tables for other, tables in used.items() if other != plan.pipeline)}
        tasks = [s for s in plan.steps.walk() if isinstance(s, PlanTask)]
        top = [s for s in plan.steps.steps if isinstance(s, PlanTask)]
        top_names = {s.name for s in top}
        computable = _computable(plan, tasks)
        before = _predecessors(plan.steps)
        checks = {s.name for s in tasks if isinstance(s.action, Checks)}
        history = {s.name for s in tasks if isinstance(s.action, Query) and s.action.steps
                   and isinstance(s.action.steps[-1], ScdType2)}  # its snapshot's tests gate the write
        gated = {s.name for s in top if isinstance(s.action, Materialize) and checks & set(before.get(s.name, ()))
                 and s.action.input not in history}
        apart = _checks_apart(top, before, shared)
        writes: dict[str, list[PlanTask]] = {}
        writers: dict[str, list[str]] = {}
        for step in tasks:
            if isinstance(step.action, Materialize):
                writers.setdefault(step.action.target.name, []).append(step.name)
                if step.name in top_names and step.action.input in computable and step.name not in gated:
                    writes.setdefault(step.action.input, []).append(step)
        queries = {s.name for s in tasks if isinstance(s.action, Query)}
        landed = {s.name for s in tasks if isinstance(s.action, Landing)}  # dbt reads them as sources
        groups = [s for s in plan.steps.steps if not isinstance(s, PlanTask)]
        skipped.extend((plan.pipeline, s) for group in groups for s in Level((group,)).walk()
                       if isinstance(s, PlanTask))  # tasks in loops and branches are the orchestrator's
        for step in top:
            not_done = {task.name for _, task in skipped} | {group.name for group in groups}
            needed = {*step.reads, *(w for name in step.reads for w in writers.get(name, ()))}
            waits_for[(plan.pipeline, step.name)] = tuple(p for p in before.get(step.name, ()) if p not in needed)
            action = step.action
            if not_done & set(waits_for[(plan.pipeline, step.name)]) or needed & (not_done - landed):
                skipped.append((plan.pipeline, step))  # it waits for, or reads, work dbt does not do
            elif isinstance(action, Query) and step.name in computable:
                candidates.append(_candidate(plan, step, action, writes.get(step.name, [])))
            elif isinstance(action, Materialize) and action.input in computable and (
                    action.input not in queries or step.name in gated):
                candidates.append(_candidate(plan, step, Query(action.input), [step]))
            elif isinstance(action, Checks) and step.name in apart and action.input in computable:
                candidates.append(_candidate(plan, step, Query(action.input), []))
            elif not _runs_in_dbt(step, computable):
                skipped.append((plan.pipeline, step))
        skipped.extend((plan.pipeline, s) for s in plan.on_failure.walk()
                       if isinstance(s, PlanTask))  # dbt has no failure handler
    counts = Counter(plain_identifier(name) for *_, name in candidates)
    models = tuple(
        Model(name=plain_identifier(name) if counts[plain_identifier(name)] == 1
              else plain_identifier(f"{plan.pipeline}__{name}"),
              plan=plan, task=task, query=query, write=write)
        for plan, task, query, write, name in candidates
    )
    references: dict[tuple[str, str], str] = {}
    model_of: dict[tuple[str, str], str] = {}
    written_tables = {m.target.qualified_name: m.name for m in models if m.target is not None}
    for model in models:
        key = (model.pipeline, model.task.name)
        references[key] = f"ref('{model.name}')"
        model_of[key] = model.name
        if model.target is not None:
            references[(model.pipeline, model.target.name)] = references[key]
            model_of[(model.pipeline, model.target.name)] = model.name
    sources: dict[tuple[str, str], Source] = {}
    for plan in plans:
        for dataset in plan.datasets:
            if (plan.pipeline, dataset.name) in references:
                continue
            if dataset.qualified_name in written_tables:
                name = written_tables[dataset.qualified_name]
                references[(plan.pipeline, dataset.name)] = f"ref('{name}')"
                model_of[(plan.pipeline, dataset.name)] = name
                continue
            source = _source_of(dataset)
            sources.setdefault((source.name, source.table), source)
            references[(plan.pipeline, dataset.name)] = f"source('{source.name}', '{source.table}')"
        for task in plan.steps.walk():
            if isinstance(task, PlanTask) and isinstance(task.action, Landing):
                source = _landing(task.action)
                sources.setdefault((source.name, source.table), source)
                references[(plan.pipeline, task.name)] = f"source('{source.name}', '{source.table}')"
    runs_in = {(m.pipeline, task): m.name for m in models for task in m.tasks}
    runs_in |= {(plan.pipeline, step.name): model_of[(plan.pipeline, step.action.input)] for plan in plans
                for step in plan.steps.walk() if isinstance(step, PlanTask) and isinstance(step.action, Checks)
                and (plan.pipeline, step.action.input) in model_of and (plan.pipeline, step.name) not in runs_in}
    return Nodes(models=models, sources=tuple(sorted(sources.values(), key=lambda s: (s.name, s.table))),
                 references=references, model_of=model_of, runs_in=runs_in, skipped=tuple(skipped),
                 waits_for=waits_for)


def braces(expression: str) -> str:
    """A Jinja expression as template text: ``ref('m')`` → ``{{ ref('m') }}``."""
    return "{{ " + expression + " }}"


def _predecessors(level: Level) -> dict[str, list[str]]:
    """Step name → the steps of `level` it runs after, in the level's order."""
    before: dict[str, list[str]] = {}
    for upstream, downstream in level.edges:
        before.setdefault(downstream, []).append(upstream)
    return before


def _checks_apart(top: list[PlanTask], before: dict[str, list[str]], shared: set[str]) -> set[str]:
    """The checks whose relation a step that does not wait for them reads or waits for the making of, or is one of
    the `shared` tables that other pipelines use (their steps never wait for this one's checks): each gets a view
    of its own to hold its tests, since `dbt build` skips everything downstream of a model whose test fails."""
    def upstream(name: str) -> set[str]:
        found, todo = set(), list(before.get(name, ()))
        while todo:
            if (step := todo.pop()) not in found:
                found.add(step)
                todo.extend(before.get(step, ()))
        return found

    def makers(relation: str) -> set[str]:
        """The steps that make `relation`: its query, or the writes into it."""
        return {s.name for s in top if s.name == relation
                or isinstance(s.action, Materialize) and s.action.target.name == relation}

    def unwaited(check: PlanTask, relation: str) -> bool:
        """Whether dbt builds a step after the model of `relation` (it reads it, or waits for what makes it)
        that does not wait for `check`."""
        made_by = makers(relation)
        for step in top:
            if step is check or isinstance(step.action, Checks):
                continue
            above = upstream(step.name)
            if check.name not in above and (relation in step.reads or above & made_by):
                return True
        return False

    return {check.name for check in top if isinstance(check.action, Checks)
            and (check.action.input in shared or unwaited(check, check.action.input))}


def _tables_used(plan: ExecutionPlan) -> set[str]:
    """The qualified names of the tables the plan's steps read or write."""
    names = {s.action.target.name for s in plan.steps.walk() if isinstance(s, PlanTask)
             and isinstance(s.action, Materialize)}
    names |= {read for s in plan.steps.walk() if isinstance(s, PlanTask) for read in s.reads}
    return {d.qualified_name for d in plan.datasets if d.name in names}


def _computable(plan: ExecutionPlan, tasks: list[PlanTask]) -> set[str]:
    """Relations dbt can build or read: datasets, landed data, and queries of those."""
    known = {d.name for d in plan.datasets} | {s.name for s in tasks if isinstance(s.action, Landing)}
    queries = [s for s in tasks if isinstance(s.action, Query)]
    changed = True
    while changed:
        changed = False
        for query in queries:
            if query.name not in known and all(r in known for r in query.reads):
                known.add(query.name)
                changed = True
    return known


def _runs_in_dbt(task: PlanTask, computable: set[str]) -> bool:
    if isinstance(task.action, Query):
        return task.name in computable
    if isinstance(task.action, (Materialize, Checks)):
        return all(r in computable for r in task.reads)
    return False


def _candidate(plan: ExecutionPlan, task: PlanTask, query: Query, writes: list[PlanTask]
               ) -> tuple[ExecutionPlan, PlanTask, Query, PlanTask | None, str]:
    if len(writes) > 1:
        raise LoweringError([Diagnostic(
            code="E404", message=f"`{task.name}` is written to {len(writes)} tables", span=writes[1].span,
            help="in dbt a model is one table; write it once and copy it with another transform",
        )])
    write = writes[0] if writes else None
    target = write.action.target if write and isinstance(write.action, Materialize) else None
    return plan, task, query, write, target.table if target else task.name


def _source_of(dataset: Dataset) -> Source:
    name = plain_identifier("_".join(p for p in (dataset.catalog, dataset.schema) if p))
    return Source(name=name, table=dataset.table, schema=dataset.schema, database=dataset.catalog,
                  columns=dataset.columns, description=dataset.description)


def _landing(landing: Landing) -> Source:
    """Where an extract-and-load tool lands what an ingestion extracts: schema `landing_<system>`."""
    return Source(name=landing.schema, table=landing.table, schema=landing.schema, columns=landing.columns,
                  description=f"Landed by {landing.ingestor} from {landing.source} ({landing.system or 'source'})")
