"""The pipeline and the project: datasets, parameters, schedules, triggers, exposures."""

from __future__ import annotations

import functools

from typing import Union

import attrs

from sparklec.ir.policy import Policy
from sparklec.diagnostics import RefSpans, Span, ref_spans_field, span_field
from sparklec.ir.tasks import AnyTask, Step
from sparklec.ir.values import Column, Setting, Value, settings_field

ENVS: tuple[str, ...] = ("dev", "qa", "prod")
"""The environments a pipeline is compiled for."""
ISOLATIONS: tuple[str, ...] = ("schema", "catalog", "none")
"""How the tables a project writes are kept apart per environment outside ``prod``: a schema (``dev_silver``)
or a catalog (``dev_lake``) named after the environment, or not at all."""


def isolated(catalog: str | None, schema: str, env: str, isolation: str) -> tuple[str | None, str]:
    """The (catalog, schema) that holds, in environment `env`, what a project writes to `catalog`.`schema`:
    unchanged in ``prod``, with ``none``, and when one of them already names the environment (``lake_dev``,
    ``dev_silver``); else the catalog (``catalog`` isolation, when there is one) or the schema gets the
    environment's name as a prefix."""
    named = any(env in (part or "").lower().split("_") for part in (catalog, schema))
    if env == "prod" or isolation == "none" or named:
        return catalog, schema
    if isolation == "catalog" and catalog:
        return f"{env}_{catalog}", schema
    return catalog, f"{env}_{schema}"


def as_written(name: str, env: str) -> str:
    """A catalog or schema without the prefix `isolated` may have given it in `env`."""
    return name.removeprefix(f"{env}_") if env != "prod" else name

PIPELINE_TYPES: tuple[str, ...] = (
    "bronze_raw_ingestion", "bronze_streaming_ingestion", "silver_batch_transformation",
    "silver_streaming_transformation", "gold_daily_aggregate", "gold_realtime_dashboard",
    "dimension_daily_scd2", "fact_daily_incremental", "feature_store_daily_materialization",
    "feature_store_realtime_sync", "ml_training_champion_challenger", "ml_batch_scoring",
    "ml_realtime_scoring", "model_drift_monitoring", "data_quality_expectations",
    "data_contract_enforcement", "backfill_historical", "catchup_after_outage",
    "table_reconciliation", "vacuum_optimize_maintenance", "zorder_analyze",
    "unity_catalog_governance_sync", "cost_attribution_tagging", "disaster_recovery_replication",
)
"""The Sparkle pipeline templates; a pipeline's `pipeline_type` is one of them (or None)."""
PARAM_TYPES: tuple[str, ...] = (
    "string", "int", "float", "bool", "date", "list<string>", "list<int>", "list<float>",
)
EXPOSURE_TYPES: tuple[str, ...] = ("dashboard", "notebook", "analysis", "ml", "application")
MATURITIES: tuple[str, ...] = ("low", "medium", "high")
OBJECT_STORES: tuple[str, ...] = ("s3", "gcs", "azure", "minio")


@attrs.frozen(kw_only=True)
class Parameter:
    """A run-time parameter with a type and an optional default."""

    name: str
    type: str = "string"
    default: Value = None
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class Schedule:
    """A 5-field cron expression, evaluated in `timezone`."""

    cron: str
    timezone: str = "UTC"
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class ObjectCreatedTrigger:
    """Run when an object lands under `prefix` (ending with `suffix`) in `bucket`."""

    store: str
    bucket: str
    prefix: str = ""
    suffix: str = ""
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class KafkaTrigger:
    topic: str
    brokers: str
    consumer_group: str = ""
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class WebhookTrigger:
    """Run on an HTTP request to `endpoint` (a path such as ``/customers``)."""

    endpoint: str
    method: str = "POST"
    port: int = 12000
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class SnsTrigger:
    topic_arn: str
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class SqsTrigger:
    queue: str
    region: str = "us-east-1"
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class GitHubTrigger:
    """Run on GitHub `events` (push, release, ...) of `owner`/`repository`."""

    owner: str
    repository: str
    events: tuple[str, ...] = ("push",)
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class CustomEventTrigger:
    """Run on a custom event: `source` and `detail_type` (EventBridge-style)."""

    source: str
    detail_type: str = ""
    span: Span | None = span_field()


Trigger = Union[
    ObjectCreatedTrigger, KafkaTrigger, WebhookTrigger, SnsTrigger, SqsTrigger, GitHubTrigger,
    CustomEventTrigger,
]


@attrs.frozen(kw_only=True)
class Dataset:
    """A table `catalog`.`schema`.`table`, known in the pipeline by `name`.

    `columns` is empty when the schema is not declared.
    """

    name: str
    schema: str
    table: str
    catalog: str | None = None
    columns: tuple[Column, ...] = ()
    primary_key: tuple[str, ...] = ()
    business_key: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    watermark: str | None = None
    description: str = ""
    span: Span | None = span_field()

    @property
    def qualified_name(self) -> str:
        return ".".join(p for p in (self.catalog, self.schema, self.table) if p)


@attrs.frozen(kw_only=True)
class Exposure:
    """A downstream consumer (dashboard, report, ML model) of some relations."""

    name: str
    type: str
    depends_on: tuple[str, ...]
    owner_name: str = ""
    owner_email: str = ""
    url: str = ""
    maturity: str = "medium"
    description: str = ""
    tags: tuple[str, ...] = ()
    span: Span | None = span_field()
    ref_spans: RefSpans = ref_spans_field()


@attrs.frozen(kw_only=True)
class CustomTransformer:
    """A user transformer: a SQL expression (adds a column) or a SELECT over ``{{ input }}``."""

    name: str
    sql: str
    span: Span | None = span_field()

    @property
    def is_select(self) -> bool:
        return self.sql.lstrip().lower().startswith(("select", "with"))


@attrs.frozen(kw_only=True, slots=False)  # no slots: `_datasets` caches in the instance's __dict__
class Pipeline:
    """One pipeline: its datasets, steps (the DAG) and everything about how it runs."""

    name: str
    env: str = "dev"
    isolation: str = "schema"
    pipeline_type: str | None = None
    description: str = ""
    parameters: tuple[Parameter, ...] = ()
    tags: tuple[Setting, ...] = settings_field()
    schedules: tuple[Schedule, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    alerts: tuple[str, ...] = ()
    defaults: Policy = Policy()
    datasets: tuple[Dataset, ...] = ()
    custom_transformers: tuple[CustomTransformer, ...] = ()
    steps: tuple[Step, ...] = ()
    on_failure: tuple[AnyTask, ...] = ()
    exposures: tuple[Exposure, ...] = ()
    depends_on: tuple[str, ...] = ()
    span: Span | None = span_field()

    def dataset(self, name: str) -> Dataset | None:
        return self._datasets.get(name)

    @functools.cached_property
    def _datasets(self) -> dict[str, Dataset]:
        """Name → dataset (the first of a name; the verifier reports the others)."""
        found: dict[str, Dataset] = {}
        for dataset in self.datasets:
            found.setdefault(dataset.name, dataset)
        return found


@attrs.frozen(kw_only=True)
class Project:
    """The root of the IR: one or more pipelines linked by `Pipeline.depends_on`."""

    name: str
    pipelines: tuple[Pipeline, ...]
    span: Span | None = span_field()

    def pipeline(self, name: str) -> Pipeline | None:
        return next((p for p in self.pipelines if p.name == name), None)
