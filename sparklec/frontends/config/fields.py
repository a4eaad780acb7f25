"""The 28 top-level fields of a Sparkle config, read and checked into `SparkleConfig`."""

from __future__ import annotations

import re

import attrs

from sparklec.diagnostics import Diagnostic, RefSpans, Span, did_you_mean
from sparklec.frontends.config.reader import Reader
from sparklec.frontends.documents import Located
from sparklec.ir.pipeline import ENVS
from sparklec.ir.pipeline import PIPELINE_TYPES
from sparklec.ir.transformers import CATALOGUE, InvalidParams, Op, build_op, parameter_names
from sparklec.ir.transformers.pii import CustomOp

WRITE_MODES_IN_CONFIGS = ("append", "overwrite", "merge")
STRING_FIELDS = (
    "source_system", "source_connection", "source_table", "destination_catalog",
    "destination_schema", "destination_table", "watermark_column", "ingestor",
    "checkpoint_location", "model_name", "target_column", "expectations_suite", "schedule",
)
LIST_FIELDS = (
    "source_tables", "primary_key", "business_key", "partition_columns", "feature_columns",
    "dependencies", "alert_channels",
)
FIELDS: tuple[str, ...] = (
    "pipeline_name", "pipeline_type", "env", *STRING_FIELDS[:3], "source_tables", *STRING_FIELDS[3:6],
    "primary_key", "business_key", "partition_columns", "watermark_column", "transformers",
    "ingestor", "write_mode", "checkpoint_location", "model_name", "feature_columns",
    "target_column", "expectations_suite", "data_contract", "schedule", "dependencies", "tags",
    "alert_channels", "extra_config",
)
_NAME = re.compile(r"^[a-z0-9_]+$")


@attrs.frozen(kw_only=True)
class SparkleConfig:
    """A Sparkle config after shape checks; `reader` keeps the spans of every field."""

    reader: Reader
    pipeline_name: str
    pipeline_type: str
    env: str
    strings: dict[str, str]
    lists: dict[str, tuple[str, ...]]
    transformers: tuple[Op, ...]
    write_mode: str
    tags: tuple[tuple[str, str, Span], ...]
    extra: Reader
    data_contract: Reader | None

    def get(self, field: str) -> str | None:
        return self.strings.get(field)

    def list(self, field: str) -> tuple[str, ...]:
        return self.lists.get(field, ())

    def span(self, field: str) -> Span:
        return self.reader.value_span(field)


TEMPLATE_CLASSES: dict[str, str] = {
    "BronzeRawIngestionPipeline": "bronze_raw_ingestion",
    "BronzeStreamingIngestionPipeline": "bronze_streaming_ingestion",
    "SilverBatchTransformationPipeline": "silver_batch_transformation",
    "SilverStreamingTransformationPipeline": "silver_streaming_transformation",
    "GoldDailyAggregatePipeline": "gold_daily_aggregate",
    "GoldRealtimeDashboardPipeline": "gold_realtime_dashboard",
    "DimensionDailySCD2Pipeline": "dimension_daily_scd2",
    "FactDailyIncrementalPipeline": "fact_daily_incremental",
    "FeatureStoreDailyMaterializationPipeline": "feature_store_daily_materialization",
    "FeatureStoreRealtimeSyncPipeline": "feature_store_realtime_sync",
    "MLTrainingChampionChallengerPipeline": "ml_training_champion_challenger",
    "MLBatchScoringPipeline": "ml_batch_scoring",
    "MLRealtimeScoringPipeline": "ml_realtime_scoring",
    "ModelDriftMonitoringPipeline": "model_drift_monitoring",
    "DataQualityExpectationsPipeline": "data_quality_expectations",
    "DataContractEnforcementPipeline": "data_contract_enforcement",
    "BackfillHistoricalPipeline": "backfill_historical",
    "CatchUpAfterOutagePipeline": "catchup_after_outage",
    "TableReconciliationPipeline": "table_reconciliation",
    "VacuumAndOptimizeMaintenancePipeline": "vacuum_optimize_maintenance",
    "ZOrderAndAnalyzePipeline": "zorder_analyze",
    "UnityCatalogGovernanceSyncPipeline": "unity_catalog_governance_sync",
    "CostAttributionTaggingPipeline": "cost_attribution_tagging",
    "DisasterRecoveryReplicationPipeline": "disaster_recovery_replication",
}
"""Sparkle's template classes, by the names its documentation gives pipeline types, and the type each is."""


def read_config(node: Located, report: list[Diagnostic], env_override: str | None) -> SparkleConfig | None:
    """Check the shape of a config document and read its fields."""
    if not node.is_mapping:
        report.append(Diagnostic(code="E103", message="a Sparkle config must be a mapping of fields",
                                 span=node.span, help="start the file with `{` and `pipeline_name`"))
        return None
    reader = Reader(node, report)
    reader.check_keys((*FIELDS, "$schema"), help_suffix="the README lists the config fields")
    for field in ("pipeline_name", "pipeline_type", "env"):
        reader.require(field)
    given_name = reader.string("pipeline_name")
    name = given_name or ""
    if given_name == "":
        reader.error("E110", "the pipeline name is empty", reader.value_span("pipeline_name"),
                     "name it with lower-case letters, digits and `_`, e.g. \"customer_silver\"")
    elif name and not _NAME.fullmatch(name):
        reader.error("E110", f"pipeline name `{name}` may only use lower-case letters, digits and `_`",
                     reader.value_span("pipeline_name"),
                     f"try `{re.sub(r'[^a-z0-9_]+', '_', name.lower()).strip('_') or 'pipeline'}`")
    named = reader.raw("pipeline_type")
    if named is not None and isinstance(named.value, str) and named.value in TEMPLATE_CLASSES:
        pipeline_type = TEMPLATE_CLASSES[named.value]
    else:
        pipeline_type = reader.string("pipeline_type", choices=PIPELINE_TYPES) or ""
    env = reader.string("env", choices=ENVS) or ""
    strings = {f: v for f in STRING_FIELDS if (v := reader.string(f)) is not None}
    lists = {f: reader.strings(f, one=False) for f in LIST_FIELDS if f in reader}
    write_mode = reader.string("write_mode", "append", WRITE_MODES_IN_CONFIGS) or "append"
    tags = _tags(reader)
    extra = reader.mapping("extra_config") or Reader(Located({}, node.span), report, "extra_config")
    custom = _custom_names(extra)
    transformers = tuple(
        op for item in reader.items("transformers") if (op := read_transformer(item, report, custom))
    )
    if not (name and pipeline_type and env) or any(d.is_error for d in report):
        return None
    return SparkleConfig(
        reader=reader, pipeline_name=name, pipeline_type=pipeline_type, env=env_override or env,
        strings=strings, lists=lists, transformers=transformers, write_mode=write_mode, tags=tags,
        extra=extra, data_contract=reader.mapping("data_contract"),
    )


def _tags(reader: Reader) -> tuple[tuple[str, str, Span], ...]:
    """The pipeline's tags as (key, value, span), sorted by key."""
    tags = reader.mapping("tags")
    if tags is None:
        return ()
    result = []
    for key in tags.keys():
        value = tags.raw(key)
        assert value is not None
        if isinstance(value.value, str):
            result.append((key, value.value, tags.key_span(key)))
        else:
            tags.error("E103", f"tag `{key}` must be a string", value.span,
                       f"quote it: \"{key}\": \"{value.plain()}\"")
    return tuple(sorted(result))


def _custom_names(extra: Reader) -> set[str]:
    custom = extra.raw("custom_transformers")
    return set(custom.value) if custom is not None and custom.is_mapping else set()


def _problem_span(reader: Reader, params: Reader | None, param: str | None, name: str) -> Span:
    """An unknown parameter points at its key, a bad value at the value, a missing one at `params`."""
    if params is None:
        return reader.value_span("name")
    if param is None or param not in params:
        return reader.key_span("params")
    return params.key_span(param) if param not in parameter_names(CATALOGUE[name]) else params.value_span(param)


def read_transformer(item: Located, report: list[Diagnostic], custom: set[str]) -> Op | None:
    """A `{"name": ..., "params": {...}}` entry as a typed op."""
    if not item.is_mapping:
        report.append(Diagnostic(code="E103", message="a transformer must be a mapping with `name` and `params`",
                                 span=item.span, help='write {"name": "drop_exact_duplicates"}'))
        return None
    reader = Reader(item, report, "transformer")
    reader.check_keys(("name", "params"))
    if not reader.require("name"):
        return None
    name = reader.string("name")
    params = reader.mapping("params")
    if name is None:
        return None
    plain = params.node.plain() if params else {}
    if name in custom:
        target = plain.pop("target_column", None)
        if plain or not (target is None or isinstance(target, str)):
            reader.error("E112", f"custom transformer `{name}` takes only `target_column`",
                         reader.value_span("params"))
            return None
        return CustomOp(transformer=name, target_column=target, span=item.span)
    if name not in CATALOGUE:
        reader.error("E111", f"unknown transformer `{name}`", reader.value_span("name"),
                     did_you_mean(name, (*CATALOGUE, *custom))
                     or "declare it in `extra_config.custom_transformers` as SQL")
        return None
    try:
        return build_op(name, plain, item.span, _string_spans(params.node) if params else ())
    except InvalidParams as error:
        for problem in error.problems:
            reader.error("E112", problem.message, _problem_span(reader, params, problem.param, name), problem.help)
        return None


def _string_spans(node: Located) -> RefSpans:
    """(text, span) of every string among a transformer's parameters: where each column name is written."""
    if isinstance(node.value, str):
        return ((node.value, node.span),) if node.span is not None else ()
    values = [v for _, v in node.value.values()] if node.is_mapping else node.value if node.is_list else []
    return tuple(pair for value in values for pair in _string_spans(value))
