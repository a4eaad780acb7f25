"""Which dbt model, source or test each IR relation and task becomes.

Every `Transform` is a model: the one a `Write` materialises takes the target
table's name and the write's configuration; any other is an intermediate
model (a view by default).  A write that waits for a check is a model of its
own reading the transform's, so `dbt build` runs the check's tests on the
transform before anything is written (a failing check leaves the table as
it was).  Datasets nobody in the project writes, and the
landing tables of `Ingest` tasks, are sources.  Names are unique across the
project: a name used twice is prefixed with its pipeline's name.
"""

from __future__ import annotations

from collections import Counter
import attrs

from sparklec.diagnostics import Diagnostic, LoweringError
from sparklec.ir import tasks as t
from sparklec.ir.columns import ColumnFlow
from sparklec.ir.graph import StepGraph, dataset_writers
from sparklec.ir.pipeline import Dataset, Pipeline, Project
from sparklec.ir.transformers import ScdType2, Schema
from sparklec.sql.tasks import landing_table, plain_identifier


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
    """A dbt model made from one `Transform`, materialised by at most one `Write`.

    A written chain that ends in `scd_type2` keeps its history with a dbt
    snapshot: the chain before it is the model `<name>__changes`, the snapshot
    `<name>__history` (dbt's `check` strategy) keeps every version, and the
    model `<name>` — the target table — is the history with `is_current`.
    """

    name: str
    pipeline: Pipeline
    transform: t.Transform
    write: t.Write | None = None
    target: Dataset | None = None

    @property
    def tasks(self) -> tuple[str, ...]:
        """The IR tasks the model runs: its transform (unless it only copies the written relation) and write."""
        names = (self.transform.name, *((self.write.name,) if self.write else ()))
        return tuple(dict.fromkeys(names))

    @property
    def history(self) -> ScdType2 | None:
        last = self.transform.steps[-1] if self.transform.steps else None
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
class Plan:
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
    skipped: tuple[tuple[str, t.AnyTask], ...]
    """Tasks dbt does not run (ingestion, containers, notifications, ML), by pipeline."""
    columns: dict[str, ColumnFlow]
    """Pipeline name → the columns of its relations."""

    def waits(self, model: Model) -> list[str]:
        """The other models `model` waits for with no data between them: those of the tasks its transform and
        write name in `after`."""
        pipeline = model.pipeline.name
        after = (*model.transform.after, *(model.write.after if model.write else ()))
        reads = self.model_of.get((pipeline, model.transform.input or ""))
        waited = (self.runs_in[(pipeline, a)] for a in after if (pipeline, a) in self.runs_in)
        return [name for name in dict.fromkeys(waited) if name not in (model.name, reads)]


def plan(project: Project) -> Plan:
    """Map every pipeline of `project` onto models, sources and references."""
    candidates: list[tuple[Pipeline, t.Transform, t.Write | None, Dataset | None, str]] = []
    skipped: list[tuple[str, t.AnyTask]] = []
    for pipeline in project.pipelines:
        computable = _computable(pipeline)
        transforms = {s.name for s in t.walk(pipeline.steps) if isinstance(s, t.Transform)}
        checks = {s.name for s in t.walk(pipeline.steps) if isinstance(s, t.QualityCheck)}
        history = {s.name for s in t.walk(pipeline.steps) if isinstance(s, t.Transform) and s.steps
                   and isinstance(s.steps[-1], ScdType2)}  # its snapshot's tests gate the write
        gated = {s.name for s in t.walk(pipeline.steps) if isinstance(s, t.Write) and checks & set(s.after)
                 and s.input not in history}
        writes: dict[str, list[t.Write]] = {}
        for step in t.walk(pipeline.steps):
            if isinstance(step, t.Write) and step.input in computable and step.name not in gated:
                writes.setdefault(step.input, []).append(step)
        ingested = {s.name for s in t.walk(pipeline.steps) if isinstance(s, t.Ingest)}  # landed: dbt reads them
        writers = dataset_writers(pipeline)
        loops_and_branches = {group.name for group in pipeline.steps if not isinstance(group, t.Task)}
        for step in _top_level_tasks(pipeline, skipped):
            not_done = {task.name for _, task in skipped} | loops_and_branches
            needed = {*step.reads(), *(w for name in step.reads() for w in writers.get(name, ()))}
            if any(name in not_done for name in step.after) or needed & (not_done - ingested):
                skipped.append((pipeline.name, step))  # it waits for, or reads, work dbt does not do
            elif isinstance(step, t.Transform) and step.name in computable:
                candidates.append(_candidate(pipeline, step, writes.get(step.name, [])))
            elif isinstance(step, t.Write) and step.input in computable and (
                    step.input not in transforms or step.name in gated):
                copy = t.Transform(name=step.name, input=step.input, span=step.span)
                candidates.append(_candidate(pipeline, copy, [step]))
            elif isinstance(step, t.Task) and not _runs_in_dbt(step, computable):
                skipped.append((pipeline.name, step))
        skipped.extend((pipeline.name, task) for task in pipeline.on_failure)  # dbt has no failure handler
    counts = Counter(plain_identifier(name) for *_, name in candidates)
    models = tuple(
        Model(name=plain_identifier(name) if counts[plain_identifier(name)] == 1 else plain_identifier(f"{p.name}__{name}"),
              pipeline=p, transform=transform, write=write, target=target)
        for p, transform, write, target, name in candidates
    )
    references: dict[tuple[str, str], str] = {}
    model_of: dict[tuple[str, str], str] = {}
    written_tables = {m.target.qualified_name: m.name for m in models if m.target is not None}
    for model in models:
        key = (model.pipeline.name, model.transform.name)
        references[key] = f"ref('{model.name}')"
        model_of[key] = model.name
        if model.target is not None:
            references[(model.pipeline.name, model.target.name)] = references[key]
            model_of[(model.pipeline.name, model.target.name)] = model.name
    sources: dict[tuple[str, str], Source] = {}
    for pipeline in project.pipelines:
        for dataset in pipeline.datasets:
            if (pipeline.name, dataset.name) in references:
                continue
            if dataset.qualified_name in written_tables:
                name = written_tables[dataset.qualified_name]
                references[(pipeline.name, dataset.name)] = f"ref('{name}')"
                model_of[(pipeline.name, dataset.name)] = name
                continue
            source = _source_of(dataset)
            sources.setdefault((source.name, source.table), source)
            references[(pipeline.name, dataset.name)] = f"source('{source.name}', '{source.table}')"
        for step in t.walk(pipeline.steps):
            if isinstance(step, t.Ingest):
                source = _landing(step)
                sources.setdefault((source.name, source.table), source)
                references[(pipeline.name, step.name)] = f"source('{source.name}', '{source.table}')"
    runs_in = {(m.pipeline.name, task): m.name for m in models for task in m.tasks}
    runs_in |= {(p.name, check.name): model_of[(p.name, check.input)] for p in project.pipelines
                for check in t.walk(p.steps) if isinstance(check, t.QualityCheck) and (p.name, check.input) in model_of}
    return Plan(models=models, sources=tuple(sorted(sources.values(), key=lambda s: (s.name, s.table))),
                references=references, model_of=model_of, runs_in=runs_in, skipped=tuple(skipped),
                columns={p.name: ColumnFlow(p, lambda diagnostic: None) for p in project.pipelines})


def _top_level_tasks(pipeline: Pipeline, skipped: list[tuple[str, t.AnyTask]]) -> list[t.AnyTask]:
    """The pipeline's top-level tasks in dependency order; tasks in loops and branches are the orchestrator's
    (noted in `skipped`)."""
    for group in pipeline.steps:
        if not isinstance(group, t.Task):
            skipped.extend((pipeline.name, s) for s in t.walk(t.children(group)) if isinstance(s, t.Task))
    graph = StepGraph.of(pipeline)
    return [step for name in graph.order() if isinstance(step := graph.steps[name], t.Task)]


def braces(expression: str) -> str:
    """A Jinja expression as template text: ``ref('m')`` → ``{{ ref('m') }}``."""
    return "{{ " + expression + " }}"


def _computable(pipeline: Pipeline) -> set[str]:
    """Relations dbt can build or read: datasets, landed ingests, and transforms of those."""
    known = {d.name for d in pipeline.datasets} | {
        s.name for s in t.walk(pipeline.steps) if isinstance(s, t.Ingest)}
    transforms = [s for s in t.walk(pipeline.steps) if isinstance(s, t.Transform)]
    changed = True
    while changed:
        changed = False
        for transform in transforms:
            if transform.name not in known and all(r in known for r in transform.reads()):
                known.add(transform.name)
                changed = True
    return known


def _runs_in_dbt(task: t.AnyTask, computable: set[str]) -> bool:
    if isinstance(task, t.Transform):
        return task.name in computable
    if isinstance(task, (t.Write, t.QualityCheck)):
        return all(r in computable for r in task.reads())
    return False


def _candidate(pipeline: Pipeline, transform: t.Transform, writes: list[t.Write]
               ) -> tuple[Pipeline, t.Transform, t.Write | None, Dataset | None, str]:
    if len(writes) > 1:
        raise LoweringError([Diagnostic(
            code="E404", message=f"`{transform.name}` is written to {len(writes)} tables", span=writes[1].span,
            help="in dbt a model is one table; write it once and copy it with another transform",
        )])
    write = writes[0] if writes else None
    target = pipeline.dataset(write.target) if write else None
    return pipeline, transform, write, target, target.table if target else transform.name


def _source_of(dataset: Dataset) -> Source:
    name = plain_identifier("_".join(p for p in (dataset.catalog, dataset.schema) if p))
    return Source(name=name, table=dataset.table, schema=dataset.schema, database=dataset.catalog,
                  columns=dataset.columns, description=dataset.description)


def _landing(ingest: t.Ingest) -> Source:
    """Where an extract-and-load tool lands what `ingest` extracts: schema `landing_<system>`."""
    schema, table = landing_table(ingest)
    return Source(name=schema, table=table, schema=schema, columns=ingest.columns,
                  description=f"Landed by {ingest.ingestor} from {ingest.source} ({ingest.source_system or 'source'})")
