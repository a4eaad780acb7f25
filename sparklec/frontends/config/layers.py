"""Pipeline types that move data through the layers: ingestion, silver, gold, dimensions,
facts, features and backfills.  Each docstring is the task graph the type expands into."""

from __future__ import annotations

import datetime

from sparklec.frontends.config import extra as extras
from sparklec.frontends.config import features
from sparklec.frontends.config.operations import retention, set_properties
from sparklec.frontends.config.expand import Expansion, pipeline_type, sql_identifier
from sparklec.ir.pipeline import Parameter
from sparklec.ir.tasks import ForEach, Ingest, RunSql, Step
from sparklec.ir.transformers import Aggregate, AddIngestionMetadata, FilterByCondition, ScdType2, SelectColumns
from sparklec.ir.transformers.aggregation import as_measures
from sparklec.ir.values import Setting

_TRANSFORM_FIELDS = ("source_table", "transformers", "primary_key", "partition_columns", "watermark_column",
                     "write_mode", "destination_catalog", "destination_schema", "source_system")
_WRITE_EXTRA = ("quality_checks", "schema_enforcement", "schema_evolution", "source_columns", "filters",
                "zorder_columns", "optimize_on_write")


@pipeline_type(
    "bronze_raw_ingestion", "bronze_streaming_ingestion",
    required=("source_table", "ingestor", "destination_table"),
    fields=("source_system", "source_connection", "destination_catalog", "destination_schema", "partition_columns",
            "watermark_column", "write_mode", "transformers", "checkpoint_location", "primary_key"),
    extra=("jdbc_options", "retention_days", "add_provenance", *_WRITE_EXTRA),
)
def ingestion(x: Expansion) -> tuple[Step, ...]:
    """ingest → add_provenance (ingestion metadata, then `transformers`) → quality_checks → write
    → apply_retention (when `retention_days` is set).  The streaming variant reads continuously
    from a checkpoint and appends."""
    cfg = x.config
    target = x.target()
    streaming = cfg.pipeline_type == "bronze_streaming_ingestion"
    if streaming and not cfg.get("checkpoint_location"):
        x.error("E106", "a streaming ingestion needs `checkpoint_location`", cfg.reader.node.span,
                "add e.g. \"checkpoint_location\": \"s3://bucket/checkpoints/<pipeline>\"")
    options = x.extra.mapping("jdbc_options")
    ingest = Ingest(
        name="ingest", ingestor=cfg.get("ingestor") or "", source=cfg.get("source_table") or "",
        source_system=cfg.get("source_system") or "", connection=cfg.get("source_connection"),
        options=tuple(
            Setting(key=k, value=options.literal(k), span=options.key_span(k)) for k in sorted(options.keys())
        ) if options else (),
        watermark=cfg.get("watermark_column"), streaming=streaming, checkpoint=cfg.get("checkpoint_location"),
        columns=extras.declared_columns(x.extra, "source_columns"), span=cfg.span("ingestor"),
    )
    steps: list[Step] = [ingest]
    relation = "ingest"
    provenance = (
        (AddIngestionMetadata(source=cfg.get("source_system") or cfg.pipeline_name),)
        if x.extra.boolean("add_provenance", True) else ()
    )
    if provenance or cfg.transformers:
        steps.append(x.transform("add_provenance", "ingest", provenance + cfg.transformers))
        relation = "add_provenance"
    checks = x.checks(relation)
    steps.extend(checks)
    if target is None:
        return tuple(steps)
    steps.append(x.write(relation, target, mode="append" if streaming else None, gates=checks))
    days = x.extra.integer("retention_days", minimum=1)
    if days is not None:
        steps.append(RunSql(name="apply_retention", after=("write",), span=x.extra.value_span("retention_days"),
                            statements=(set_properties(target, retention(days)),)))
    return tuple(steps)


@pipeline_type(
    "silver_batch_transformation", "silver_streaming_transformation", "fact_daily_incremental",
    required=("source_table", "destination_table"), fields=_TRANSFORM_FIELDS, extra=_WRITE_EXTRA,
)
@pipeline_type(
    "feature_store_daily_materialization", "feature_store_realtime_sync",
    required=("destination_table",), fields=(*_TRANSFORM_FIELDS, "source_tables", "feature_columns"),
    extra=(*_WRITE_EXTRA, "feature_store_config", "feature_engineering", "versioning"),
)
def transformation(x: Expansion) -> tuple[Step, ...]:
    """transform (the `transformers` chain over `source_table`) → quality_checks → write.

    silver_batch writes with `write_mode`; silver_streaming and the feature-store sync write
    incrementally by `watermark_column`; fact_daily_incremental writes incrementally keyed by
    `primary_key`; feature_store_daily_materialization merges on `primary_key`.  A feature table keeps its
    `primary_key`, `watermark_column` and `feature_columns` when those are given; with `source_tables`, the
    transform joins them (`features.feature_join`), and the feature table's store settings follow the write."""
    cfg = x.config
    kind = cfg.pipeline_type
    feature_store = kind.startswith("feature_store")
    joined = features.joined_sources(x) if feature_store and cfg.list("source_tables") else []
    source = joined[0] if joined else x.source()
    target = x.target()
    if feature_store and source is None and not cfg.list("source_tables"):
        x.error("E106", f"`{kind}` needs `source_table` or `source_tables`", cfg.reader.node.span,
                'add `"source_table": "catalog.schema.table"`')
    incremental = kind in ("silver_streaming_transformation", "fact_daily_incremental", "feature_store_realtime_sync")
    if incremental and not cfg.get("watermark_column"):
        x.error("E106", f"`{kind}` writes incrementally and needs `watermark_column`", cfg.reader.node.span,
                "name the column whose growing value marks new rows, e.g. \"updated_at\"")
    if feature_store and not cfg.list("primary_key"):
        x.error("E106", "a feature table needs `primary_key` (the entity key)", cfg.reader.node.span)
    if source is None or target is None:
        return ()
    mode = "incremental" if incremental else "merge" if kind == "feature_store_daily_materialization" else None
    chain = cfg.transformers
    if feature_store and cfg.list("feature_columns") and not joined:
        kept = (*cfg.list("primary_key"), *filter(None, [cfg.get("watermark_column")]), *cfg.list("feature_columns"))
        chain += (SelectColumns(columns=tuple(dict.fromkeys(kept)), span=cfg.span("feature_columns")),)
    if feature_store:
        chain += features.engineered(x)
    transform = features.feature_join(x, joined, chain) if joined else x.transform("transform", source.name, chain)
    if transform is None:
        return ()
    steps: list[Step] = [transform]
    checks = x.checks("transform")
    steps.extend(checks)
    steps.append(x.write("transform", target, mode=mode, gates=checks,
                         unique_key=features.series_key(x) if joined else None))
    if feature_store:
        steps.extend(features.store_settings(x, target))
    return tuple(steps)


@pipeline_type(
    "gold_daily_aggregate", "gold_realtime_dashboard",
    required=("source_table", "destination_table"), fields=_TRANSFORM_FIELDS,
    extra=("aggregations", "group_by", "filter_condition", *_WRITE_EXTRA),
)
def gold(x: Expansion) -> tuple[Step, ...]:
    """aggregate (filter by `filter_condition` → `transformers` → group by `group_by` with
    `aggregations`) → quality_checks → write.  The daily aggregate overwrites; the real-time
    dashboard merges on the group keys."""
    cfg = x.config
    source, target = x.source(), x.target()
    steps_ops = list(cfg.transformers)
    condition = x.extra.string("filter_condition")
    if condition:
        steps_ops.insert(0, FilterByCondition(condition=condition, span=x.extra.value_span("filter_condition")))
    group_by = x.extra.strings("group_by")
    raw = x.extra.raw("aggregations")
    if raw is not None and raw.is_mapping and "measures" in raw.value:  # Sparkle's {group_by, measures}
        spec = x.extra.mapping("aggregations")
        assert spec is not None
        spec.check_keys(("group_by", "measures"))
        group_by = _one_grouping(x, group_by, spec.strings("group_by"))
        raw = spec.raw("measures")
    if raw is None:
        x.error("E106", f"`{cfg.pipeline_type}` needs `extra_config.aggregations`", x.extra.node.span,
                'e.g. "aggregations": {"group_by": ["region"], "measures": [{"name": "revenue", '
                '"expression": "sum(amount)"}]}')
    else:
        try:
            steps_ops.append(Aggregate(group_by=group_by, measures=as_measures(raw.plain()), span=raw.span))
        except ValueError as error:
            x.error("E112", f"`extra_config.aggregations`: {error}", raw.span)
    if source is None or target is None:
        return ()
    realtime = cfg.pipeline_type == "gold_realtime_dashboard"
    steps: list[Step] = [x.transform("aggregate", source.name, tuple(steps_ops))]
    checks = x.checks("aggregate")
    steps.extend(checks)
    steps.append(x.write("aggregate", target, mode="merge" if realtime else "overwrite",
                         unique_key=group_by if realtime else (), gates=checks))
    return tuple(steps)


def _one_grouping(x: Expansion, outside: tuple[str, ...], inside: tuple[str, ...]) -> tuple[str, ...]:
    """The group keys, from `extra_config.group_by` or `aggregations.group_by` (both only when they agree)."""
    if outside and inside and outside != inside:
        x.error("E112", "`extra_config.group_by` and `extra_config.aggregations.group_by` name different keys",
                x.extra.value_span("group_by"), "keep one of them")
    return inside or outside


@pipeline_type(
    "dimension_daily_scd2", required=("source_table", "destination_table", "business_key"),
    fields=_TRANSFORM_FIELDS, extra=("compare_columns", *_WRITE_EXTRA),
)
def dimension(x: Expansion) -> tuple[Step, ...]:
    """scd2 (the `transformers` chain, then a type-2 history keyed by `business_key`) →
    quality_checks → write (merge on the business key and `valid_from`)."""
    cfg = x.config
    source, target = x.source(), x.target()
    if source is None or target is None:
        return ()
    compare = x.extra.strings("compare_columns") or None
    scd = ScdType2(business_key=cfg.list("business_key"), compare_columns=compare, span=cfg.span("business_key"))
    steps: list[Step] = [x.transform("scd2", source.name, cfg.transformers + (scd,))]
    checks = x.checks("scd2")
    steps.extend(checks)
    steps.append(x.write("scd2", target, mode="merge", unique_key=cfg.list("business_key") + (scd.effective_from,),
                         gates=checks))
    return tuple(steps)


_STEPS = {"day": 1, "week": 7}


def date_slices(start: datetime.date, end: datetime.date, step: str) -> tuple[str, ...]:
    """ISO dates from `start` to `end` inclusive, a day, a week or a month apart."""
    slices = []
    current = start
    while current <= end:
        slices.append(current.isoformat())
        if step == "month":
            month = current.month % 12 + 1
            current = current.replace(year=current.year + (current.month == 12), month=month, day=1)
        else:
            current += datetime.timedelta(days=_STEPS[step])
    return tuple(slices)


@pipeline_type(
    "backfill_historical", "catchup_after_outage", required=("source_table", "destination_table"),
    fields=(*_TRANSFORM_FIELDS, "watermark_column"),
    extra=("date_range", "max_concurrency", "filter_condition", *_WRITE_EXTRA),
)
def backfill(x: Expansion) -> tuple[Step, ...]:
    """backfill: foreach slice (max `max_concurrency` at once) → transform (rows of the slice by
    the first partition column, then `transformers`) → write (overwrite of that slice).

    backfill_historical slices `date_range` {start, end, step}; catchup_after_outage slices the
    list parameter `missed_slices`, given at run time."""
    cfg = x.config
    source, target = x.source(), x.target()
    column = (cfg.list("partition_columns") or (cfg.get("watermark_column") or "",))[0]
    if not column:
        x.error("E106", f"`{cfg.pipeline_type}` needs `partition_columns` (the column to slice by)",
                cfg.reader.node.span)
    items: tuple[str, ...] | None = None
    if cfg.pipeline_type == "backfill_historical":
        items = _date_range(x)
    else:
        x.parameters.append(Parameter(name="missed_slices", type="list<string>", default=(),
                                      span=cfg.span("pipeline_type")))
    if source is None or target is None or not column:
        return ()
    slice_filter = FilterByCondition(condition=f"{sql_identifier(column)} = '${{slice}}'")
    body = (
        x.transform("transform_slice", source.name, (slice_filter, *cfg.transformers)),
        x.write("transform_slice", target, mode="overwrite", name="write_slice"),
    )
    return (ForEach(
        name="backfill", var="slice", items=items, items_param=None if items is not None else "missed_slices",
        max_concurrency=x.extra.integer("max_concurrency", 4, minimum=1), body=body,
        span=cfg.span("pipeline_type"),
    ),)


def _date_range(x: Expansion) -> tuple[str, ...]:
    spec = x.extra.mapping("date_range")
    if spec is None:
        x.error("E106", "`backfill_historical` needs `extra_config.date_range`", x.extra.node.span,
                'e.g. "date_range": {"start": "2024-01-01", "end": "2024-01-31", "step": "day"}')
        return ()
    spec.check_keys(("start", "end", "step"))
    dates = {}
    for key in ("start", "end"):
        if spec.require(key):
            text = spec.string(key) or ""
            try:
                dates[key] = datetime.date.fromisoformat(text)
            except ValueError:
                spec.error("E113", f"`date_range.{key}` must be a date YYYY-MM-DD, not `{text}`", spec.value_span(key))
    step = spec.string("step", "day", ("day", "week", "month")) or "day"
    if len(dates) < 2:
        return ()
    if dates["start"] > dates["end"]:
        spec.error("E113", "`date_range.start` is after `date_range.end`", spec.node.span)
        return ()
    slices = date_slices(dates["start"], dates["end"], step)
    if len(slices) > 10_000:
        spec.error("E113", f"`date_range` makes {len(slices)} slices; the limit is 10000", spec.node.span,
                   "use a larger step or split the backfill")
        return ()
    return slices

