"""Shared machinery for expanding a pipeline type into a task graph.

Each pipeline type is a function registered with `pipeline_type`; it gets an
`Expansion` (the config plus helpers) and returns the pipeline's steps.  The
fields a type reads are declared, so that a field the type ignores is
reported instead of silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs

from sparklec.diagnostics import Diagnostic, Severity, Span
from sparklec.frontends.config import extra as extras
from sparklec.frontends.config.fields import SparkleConfig
from sparklec.ir.pipeline import ISOLATIONS, Dataset, Parameter, Pipeline, Schedule
from sparklec.ir.cron import expand_schedule_name
from sparklec.ir.tasks import QualityCheck, Relationships, RunSql, Step, Transform, Write
from sparklec.ir.transformers import FilterByCondition, Op
from sparklec.ir.values import Column, Setting

COMMON_FIELDS = (
    "$schema", "pipeline_name", "pipeline_type", "env", "schedule", "dependencies", "tags",
    "alert_channels", "extra_config",
)
COMMON_EXTRA = (
    "runtime", "retries", "timeout", "resources", "triggers", "timezone", "parameters",
    "custom_transformers", "exposures", "description", "environment_isolation",
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

Builder = Callable[["Expansion"], tuple[Step, ...]]


@attrs.frozen
class PipelineType:
    """How one `pipeline_type` expands: the builder and the fields it needs and reads."""

    build: Builder
    required: tuple[str, ...]
    fields: tuple[str, ...]
    extra: tuple[str, ...]


PIPELINE_TYPES: dict[str, PipelineType] = {}


def pipeline_type(
    *names: str, required: tuple[str, ...] = (), fields: tuple[str, ...] = (), extra: tuple[str, ...] = ()
) -> Callable[[Builder], Builder]:
    """Register a builder for the pipeline types `names`."""
    def register(build: Builder) -> Builder:
        for name in names:
            PIPELINE_TYPES[name] = PipelineType(build, required, tuple({*required, *fields}), extra)
        return build
    return register


def sql_identifier(name: str) -> str:
    """A Spark SQL identifier, back-quoted when needed."""
    return name if _IDENTIFIER.fullmatch(name) else "`" + name.replace("`", "``") + "`"


def sql_string(value: str) -> str:
    """A Spark SQL string literal (backslashes and quotes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Expansion:
    """A config being expanded: typed fields, datasets and the pieces most types share."""

    def __init__(self, config: SparkleConfig, report: list[Diagnostic]):
        self.config, self.report, self.extra = config, report, config.extra
        self.datasets: list[Dataset] = []
        self.config = attrs.evolve(config, transformers=tuple(self._relations_declared(op) for op in config.transformers))
        self.source_name: str | None = None
        """The name of the `source_table` dataset, once read."""
        self.parameters: list[Parameter] = []

    def _relations_declared(self, op: Op) -> Op:
        """`op` with each table it reads besides its input (`lookup_table: main.crm.segments`) declared as a dataset
        and named by it."""
        named: dict[str, Any] = {}
        for field in op.RELATION_FIELDS:
            dataset = self.dataset("transformers", table=getattr(op, field))
            if dataset is not None:
                named[field] = dataset.name
        return attrs.evolve(op, **named) if named else op

    def error(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        self.report.append(Diagnostic(code=code, message=message, span=span, help=help))

    def warn(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        self.report.append(Diagnostic(code=code, message=message, span=span, help=help,
                                      severity=Severity.WARNING))

    def dataset(self, field: str, table: str | None = None, columns: tuple[Column, ...] = (),
                catalog: str | None = None, schema: str | None = None) -> Dataset | None:
        """Declare the dataset named by config `field` (or the given `table` text)."""
        text = table if table is not None else self.config.get(field)
        span = self.config.span(field)
        if not text:
            return None
        parts = text.split(".")
        if len(parts) > 3 or not all(_IDENTIFIER.fullmatch(p) for p in parts):
            self.error("E113", f"`{text}` is not a table name", span,
                       "write `table`, `schema.table` or `catalog.schema.table` with letters, digits and `_`")
            return None
        *given, table_name = parts
        qualifiers: list[str | None] = [None] * (2 - len(given)) + list(given)
        name = table_name
        existing = {d.name for d in self.datasets}
        while name in existing:
            name = f"{name}_{field.split('_')[0]}" if not name.endswith(field.split("_")[0]) else f"{name}_2"
        dataset = Dataset(
            name=name, catalog=catalog or qualifiers[0], schema=schema or qualifiers[1] or "default",
            table=table_name, columns=columns, span=span,
        )
        self.datasets.append(dataset)
        return dataset

    def source(self) -> Dataset | None:
        """The `source_table` dataset, with columns from `source_columns` or the data contract."""
        columns = extras.declared_columns(self.extra, "source_columns") or extras.declared_columns(
            self.config.data_contract, "columns"
        )
        source = self.dataset("source_table", columns=columns)
        if source is not None:
            source = attrs.evolve(source, primary_key=self.config.list("primary_key"),
                                  watermark=self.config.get("watermark_column"))
            self.datasets[-1] = source
            self.source_name = source.name
        return source

    def source_columns_of_contract(self) -> tuple[Column, ...]:
        return extras.declared_columns(self.config.data_contract, "columns")

    def target(self) -> Dataset | None:
        """The destination dataset from `destination_catalog`/`_schema`/`_table`."""
        cfg = self.config
        target = self.dataset(
            "destination_table", catalog=cfg.get("destination_catalog"), schema=cfg.get("destination_schema"),
        )
        if target is not None:
            target = attrs.evolve(
                target, primary_key=cfg.list("primary_key"), business_key=cfg.list("business_key"),
                partition_by=cfg.list("partition_columns"), watermark=cfg.get("watermark_column"),
            )
            self.datasets[-1] = target
        return target

    def transform(self, name: str, input: str, steps: tuple[Op, ...], after: tuple[str, ...] = ()) -> Transform:
        """A chain of `steps` over `input`; over the source, the `filters` come first."""
        condition = extras.range_filters(self.extra) if input == self.source_name else None
        if condition:
            steps = (FilterByCondition(condition=condition, span=self.extra.value_span("filters")), *steps)
        return Transform(name=name, input=input, steps=steps, after=after, span=self.config.span("pipeline_type"))

    def checks(self, relation: str) -> tuple[QualityCheck, ...]:
        """The `quality_checks` task on `relation`, if any checks are configured."""
        checks, severity = extras.quality_checks(self.extra)
        if not checks:
            return ()
        checks = tuple(self._related(c) if isinstance(c, Relationships) else c for c in checks)
        span = self.extra.value_span("quality_checks")
        return (QualityCheck(name="quality_checks", input=relation, checks=checks, severity=severity, span=span),)

    def _related(self, check: Relationships) -> Relationships:
        """A relationships check whose `to` (a table name in configs) names a declared dataset."""
        existing = next((d for d in self.datasets if check.to in (d.name, d.qualified_name)), None)
        dataset = existing or self.dataset("extra_config", table=check.to)
        return attrs.evolve(check, to=dataset.name) if dataset else check

    def write(self, relation: str, target: Dataset, mode: str | None = None, unique_key: tuple[str, ...] | None = None,
              name: str = "write", gates: tuple[Step, ...] = ()) -> Write:
        """Write `relation` into `target`; `gates` (quality checks) must pass first."""
        cfg = self.config
        evolution = self.extra.string("schema_evolution", "strict", ("strict", "additive", "full"))
        schema_change = {"strict": "fail", "additive": "append_new_columns", "full": "sync_all_columns"}[
            evolution or "strict"
        ]
        if not self.extra.boolean("schema_enforcement", True):
            schema_change = "ignore"
        mode = mode or cfg.write_mode
        unique_key = cfg.list("primary_key") if unique_key is None else unique_key
        if mode == "merge" and not unique_key:
            self.error("E106", "`write_mode` merge needs `primary_key` (the columns that identify a row)",
                       cfg.span("write_mode"), 'add e.g. "primary_key": ["id"], or use append or overwrite')
        return Write(
            name=name, input=relation, target=target.name, mode=mode, unique_key=unique_key,
            partition_by=cfg.list("partition_columns"), watermark=cfg.get("watermark_column"),
            schema_change=schema_change, after=tuple(g.name for g in gates), span=cfg.span("write_mode") if "write_mode" in cfg.reader else target.span,
        )

    def optimizations(self, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        """With `optimize_on_write` or `zorder_columns`, an OPTIMIZE of each table the pipeline writes (Z-ordered
        by the columns), after the write."""
        zorder = self.extra.strings("zorder_columns")
        if not (zorder or self.extra.boolean("optimize_on_write", False)):
            return ()
        writes = [s for s in steps if isinstance(s, Write)]
        by = f" ZORDER BY ({', '.join(sql_identifier(c) for c in zorder)})" if zorder else ""
        span = self.extra.value_span("zorder_columns" if zorder else "optimize_on_write")
        return tuple(RunSql(name="optimize" if len(writes) == 1 else f"optimize_{write.name}",
                            statements=(f"OPTIMIZE {{{{ {write.target} }}}}{by}",), after=(write.name,), span=span)
                     for write in writes)

    def pipeline(self, steps: tuple[Step, ...]) -> Pipeline:
        cfg = self.config
        steps += self.optimizations(steps)
        schedules: tuple[Schedule, ...] = ()
        if cfg.get("schedule"):
            schedules = (Schedule(cron=expand_schedule_name(cfg.get("schedule") or ""),
                                  timezone=self.extra.string("timezone", "UTC") or "UTC",
                                  span=cfg.span("schedule")),)
        main = next((d.name for d in reversed(self.datasets)), None)
        return Pipeline(
            name=cfg.pipeline_name, env=cfg.env, pipeline_type=cfg.pipeline_type,
            isolation=self.extra.string("environment_isolation", "schema", ISOLATIONS) or "schema",
            description=self.extra.string("description", "") or "",
            parameters=extras.parameters(self.extra) + tuple(self.parameters),
            tags=tuple(Setting(key=k, value=v, span=s) for k, v, s in cfg.tags),
            schedules=schedules, triggers=extras.triggers(self.extra), alerts=cfg.list("alert_channels"),
            defaults=extras.policy(self.extra), datasets=tuple(self.datasets),
            custom_transformers=extras.custom_transformers(self.extra), steps=steps,
            exposures=extras.exposures(self.extra, (main,) if main else ()),
            depends_on=cfg.list("dependencies"), span=cfg.reader.node.span,
        )
