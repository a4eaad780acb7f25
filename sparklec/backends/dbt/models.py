"""Which dbt model, source or test each IR relation and task becomes.

Every `Transform` is a model: the one a `Write` materialises takes the target
table's name and the write's configuration; any other is an intermediate
model (a view by default).  Datasets nobody in the project writes, and the
landing tables of `Ingest` tasks, are sources.  Names are unique across the
project: a name used twice is prefixed with its pipeline's name.
"""

from __future__ import annotations

from collections import Counter
import attrs

from sparklec.compiler.diagnostics import Diagnostic, LoweringError
from sparklec.ir import tasks as t
from sparklec.ir.pipeline import Dataset, Pipeline, Project
from sparklec.ir.transformers import Schema


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
    """A dbt model made from one `Transform`, materialised by at most one `Write`."""

    name: str
    pipeline: Pipeline
    transform: t.Transform
    write: t.Write | None = None
    target: Dataset | None = None


@attrs.frozen
class Plan:
    """Everything the project holds, with the relation → dbt reference of every pipeline."""

    models: tuple[Model, ...]
    sources: tuple[Source, ...]
    references: dict[tuple[str, str], str]
    """(pipeline, relation) → Jinja reference: ``{{ ref('m') }}`` or ``{{ source('s', 't') }}``."""
    model_of: dict[tuple[str, str], str]
    """(pipeline, relation) → the model a check or exposure on that relation attaches to."""
    skipped: tuple[tuple[str, t.Task], ...]
    """Tasks dbt does not run (ingestion, containers, notifications, ML), by pipeline."""


def _identifier(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in text.lower()).strip("_")
    return cleaned if cleaned and not cleaned[0].isdigit() else f"m_{cleaned}"


def plan(project: Project) -> Plan:
    """Map every pipeline of `project` onto models, sources and references."""
    candidates: list[tuple[Pipeline, t.Transform, t.Write | None, Dataset | None, str]] = []
    skipped: list[tuple[str, t.Task]] = []
    for pipeline in project.pipelines:
        writes: dict[str, list[t.Write]] = {}
        for step in t.walk(pipeline.steps):
            if isinstance(step, t.Write):
                writes.setdefault(step.input, []).append(step)
        for step in t.walk(pipeline.steps):
            if isinstance(step, t.Transform):
                step_writes = writes.get(step.name, [])
                if len(step_writes) > 1:
                    raise LoweringError([Diagnostic(
                        code="E404", message=f"`{step.name}` is written to {len(step_writes)} tables",
                        span=step_writes[1].span, help="in dbt a model is one table; write it once and copy with a transform",
                    )])
                write = step_writes[0] if step_writes else None
                target = pipeline.dataset(write.target) if write else None
                candidates.append((pipeline, step, write, target, target.table if target else step.name))
            elif isinstance(step, t.Write) and not _is_transform(pipeline, step.input):
                raise LoweringError([Diagnostic(
                    code="E404", message=f"write `{step.name}` copies `{step.input}`, which dbt cannot compute",
                    span=step.span, help="dbt builds tables from SQL: read a dataset or a transform",
                )])
            elif not isinstance(step, (t.Transform, t.Write, t.QualityCheck, t.ForEach, t.Branch)):
                skipped.append((pipeline.name, step))
    counts = Counter(_identifier(name) for *_, name in candidates)
    models = tuple(
        Model(name=_identifier(name) if counts[_identifier(name)] == 1 else _identifier(f"{p.name}__{name}"),
              pipeline=p, transform=transform, write=write, target=target)
        for p, transform, write, target, name in candidates
    )
    references: dict[tuple[str, str], str] = {}
    model_of: dict[tuple[str, str], str] = {}
    written_tables = {m.target.qualified_name: m.name for m in models if m.target is not None}
    for model in models:
        key = (model.pipeline.name, model.transform.name)
        references[key] = f"{{{{ ref('{model.name}') }}}}"
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
                references[(pipeline.name, dataset.name)] = f"{{{{ ref('{name}') }}}}"
                model_of[(pipeline.name, dataset.name)] = name
                continue
            source = _source_of(dataset)
            sources.setdefault((source.name, source.table), source)
            references[(pipeline.name, dataset.name)] = f"{{{{ source('{source.name}', '{source.table}') }}}}"
        for step in t.walk(pipeline.steps):
            if isinstance(step, t.Ingest):
                source = _landing(step)
                sources.setdefault((source.name, source.table), source)
                references[(pipeline.name, step.name)] = f"{{{{ source('{source.name}', '{source.table}') }}}}"
    return Plan(models=models, sources=tuple(sorted(sources.values(), key=lambda s: (s.name, s.table))),
                references=references, model_of=model_of, skipped=tuple(skipped))


def _is_transform(pipeline: Pipeline, name: str) -> bool:
    return any(isinstance(s, t.Transform) and s.name == name for s in t.walk(pipeline.steps))


def _source_of(dataset: Dataset) -> Source:
    name = _identifier("_".join(p for p in (dataset.catalog, dataset.schema) if p))
    return Source(name=name, table=dataset.table, schema=dataset.schema, database=dataset.catalog,
                  columns=dataset.columns, description=dataset.description)


def _landing(ingest: t.Ingest) -> Source:
    """Where an extract-and-load tool lands what `ingest` extracts: schema `landing_<system>`."""
    system = _identifier(ingest.source_system or ingest.ingestor)
    table = _identifier(ingest.source.rsplit(".", 1)[-1].rsplit("/", 1)[-1])
    return Source(name=f"landing_{system}", table=table, schema=f"landing_{system}", columns=ingest.columns,
                  description=f"Landed by {ingest.ingestor} from {ingest.source} ({ingest.source_system or 'source'})")
