"""The `extra_config` keys sparklec understands, and their readers.

Unknown keys are reported as warnings (the Sparkle schema leaves
`extra_config` open, so they are not errors, but they are never silently
dropped).  Each reader turns one key into IR values.
"""

from __future__ import annotations

from sqlglot import exp

from sparklec.diagnostics import Severity
from sparklec.frontends.config.reader import Reader
from sparklec.ir.pipeline import (
    EXPOSURE_TYPES, MATURITIES, OBJECT_STORES, PARAM_TYPES, CustomEventTrigger, CustomTransformer,
    Exposure, GitHubTrigger, KafkaTrigger, ObjectCreatedTrigger, Parameter, SnsTrigger, SqsTrigger,
    Trigger, WebhookTrigger,
)
from sparklec.ir.policy import RETRY_ON, RUNTIMES, Policy, Resources, Retry
from sparklec.ir.tasks import (
    CHECK_SEVERITIES, AcceptedValues, AnyCheck, CustomSqlCheck, EmailFormat, Freshness, MatchesRegex,
    NotNull, Relationships, RowCount, Unique,
)
from sparklec.ir.values import Column, Scalar, normalize_type

EXTRA_CONFIG_KEYS: dict[str, str] = {
    "quality_checks": "data-quality checks run before the write",
    "aggregations": "gold: {column: [sum, avg, count, min, max, stddev, variance]} or [{name, expression}]",
    "group_by": "gold: the grouping columns",
    "filter_condition": "gold and backfill: a SQL condition applied before aggregating",
    "filters": "the source's rows kept: {min_<column>: value, max_<column>: value} (bounds included)",
    "jdbc_options": "ingestion: options passed to the JDBC reader",
    "retention_days": "ingestion and maintenance: how long deleted files and history are kept",
    "add_provenance": "ingestion: add _ingestion_timestamp/_source_system columns (default true)",
    "schema_enforcement": "fail the write when the schema changes (default true)",
    "schema_evolution": "strict | additive | full: how the target's schema may change",
    "source_columns": "the source table's columns {name: type}, checked through the chain",
    "compare_columns": "SCD2: the columns whose change opens a new version",
    "date_range": "backfill: {start, end, step: day|week|month} (dates as YYYY-MM-DD)",
    "max_concurrency": "backfill and catch-up: slices processed at once",
    "candidates": "ML training: [{name, algorithm, params}] trained in parallel",
    "models_to_train": "ML training, as Sparkle writes it: [{name, type, params}] trained in parallel",
    "champion_criteria": "ML training: {metric, threshold, improvement_threshold} that the champion must meet",
    "training_config": "ML training: {train_test_split, stratify, random_state, ...} given to each training job",
    "feature_importance": "ML training: whether (or how) the training jobs report feature importance",
    "mlflow_config": "ML training: the MLflow settings the champion is registered with",
    "unity_catalog_registration": "ML training: the Unity Catalog model registration settings",
    "model_validation": "ML training: {validation_checks: [\"auc >= 0.75\"], fail_on_validation_error}",
    "metric": "ML training: the metric that picks the champion (default auc)",
    "higher_is_better": "ML training: whether a larger metric wins (default true)",
    "model_stage": "ML scoring: the registry stage or alias to score with (default champion)",
    "feature_store_config": "feature store: {point_in_time_joins, ttl, online_store} of the feature table",
    "feature_engineering": "feature store: {lags, rolling_windows, rolling_stats, aggregation_windows} per feature",
    "versioning": "feature store: {enabled, retention_days}: how long past versions of the table stay readable",
    "baseline_table": "drift monitoring: the table holding the training-time features",
    "drift_threshold": "drift monitoring: the largest allowed shift in standard deviations (default 3)",
    "compare_table": "reconciliation: the table compared with source_table",
    "tolerance": "reconciliation: the allowed difference in row counts (default 0)",
    "zorder_columns": "maintenance, and any pipeline that writes: columns to Z-order the table by (OPTIMIZE)",
    "optimize_on_write": "any pipeline that writes: OPTIMIZE the table after each write (default false)",
    "vacuum_retention_hours": "maintenance: VACUUM retention in hours (default 168)",
    "grants": "governance: [{principal, privilege}] granted on the table",
    "replica_catalog": "disaster recovery: the catalog that receives the deep clones",
    "runtime": f"where tasks run: {' | '.join(RUNTIMES)}",
    "retries": "retry policy: {limit, interval, backoff, max_delay, on}",
    "timeout": "task timeout, e.g. 1h",
    "resources": "compute requests and limits: {cpu, memory, cpu_limit, memory_limit}",
    "triggers": "event triggers: [{type: s3|gcs|minio|kafka|webhook|sns|sqs|github|event, ...}]",
    "timezone": "the time zone of the schedule (default UTC)",
    "parameters": "run-time parameters: {name: {type, default}}",
    "custom_transformers": "user transformers: {name: SQL expression or SELECT over {{ input }}}",
    "exposures": "downstream consumers: [{name, type, url, maturity, owner, email}]",
    "description": "what the pipeline is for",
    "environment_isolation": "schema | catalog | none: how tables written outside prod are kept apart (default schema)",
}


def quality_checks(extra: Reader) -> tuple[tuple[AnyCheck, ...], str]:
    """Checks and their severity from `extra_config.quality_checks`."""
    qc = extra.mapping("quality_checks")
    if qc is None:
        return (), "error"
    qc.check_keys((
        "null_check_columns", "uniqueness_check", "email_format_check", "accepted_values",
        "regex_checks", "row_count", "freshness", "relationships", "custom_sql", "severity",
    ))
    checks: list[AnyCheck] = []
    if qc.strings("null_check_columns"):  # an empty list checks nothing
        checks.append(NotNull(column_names=qc.strings("null_check_columns"), span=qc.value_span("null_check_columns")))
    if qc.strings("uniqueness_check"):
        checks.append(Unique(column_names=qc.strings("uniqueness_check"), span=qc.value_span("uniqueness_check")))
    email = qc.raw("email_format_check")
    if email is not None:
        columns = ("email",) if email.value is True else () if email.value is False else qc.strings("email_format_check")
        checks.extend(EmailFormat(column=c, span=email.span) for c in columns)
    accepted = qc.mapping("accepted_values")
    for column in accepted.keys() if accepted else ():
        assert accepted is not None
        values = accepted.items(column)
        if not values or any(v.is_list or v.is_mapping for v in values):
            accepted.error("E103", f"`accepted_values.{column}` must be a non-empty list of literals",
                           accepted.value_span(column))
            continue
        checks.append(AcceptedValues(column=column, values=tuple(v.value for v in values),
                                     span=accepted.value_span(column)))
    regex = qc.mapping("regex_checks")
    for column in regex.keys() if regex else ():
        assert regex is not None
        pattern = regex.string(column)
        if pattern is not None:
            checks.append(MatchesRegex(column=column, pattern=pattern, span=regex.value_span(column)))
    row_count = qc.mapping("row_count")
    if row_count is not None:
        row_count.check_keys(("min", "max"))
        checks.append(RowCount(minimum=row_count.integer("min", minimum=0),
                               maximum=row_count.integer("max", minimum=0), span=row_count.node.span))
    freshness = qc.mapping("freshness")
    if freshness is not None:
        freshness.check_keys(("column", "max_age"))
        if freshness.require("column") and freshness.require("max_age"):
            fresh_column, max_age = freshness.string("column"), freshness.duration("max_age")
            if fresh_column and max_age is not None:
                checks.append(Freshness(column=fresh_column, max_age=max_age, span=freshness.node.span))
    for rel in qc.entry_readers("relationships"):
        rel.check_keys(("column", "to", "field"))
        if all(rel.require(k) for k in ("column", "to", "field")):
            from_column, to, field = rel.string("column"), rel.string("to"), rel.string("field")
            if from_column and to and field:
                checks.append(Relationships(column=from_column, to=to, field=field, span=rel.node.span))
    custom = qc.mapping("custom_sql")
    for name in custom.keys() if custom else ():
        assert custom is not None
        sql = custom.string(name)
        if sql is not None:
            checks.append(CustomSqlCheck(name=name, sql=sql, span=custom.value_span(name)))
    return tuple(checks), qc.string("severity", "error", CHECK_SEVERITIES) or "error"


SPARKLE_RUNTIME = "databricks"
"""Sparkle pipelines are Databricks pipelines: their tasks run there unless `runtime` says otherwise."""


def policy(extra: Reader) -> Policy:
    """Pipeline default policy from `runtime` (default: Databricks), `retries`, `timeout` and `resources`."""
    retry = None
    retries = extra.mapping("retries")
    if retries is not None:
        retries.check_keys(("limit", "interval", "backoff", "max_delay", "on"))
        on = retries.strings("on") or ("all",)
        for error in on:
            if error not in RETRY_ON:
                retries.error("E109", f"retry condition `{error}` is not one of {', '.join(RETRY_ON)}",
                              retries.value_span("on"))
        retry = Retry(
            limit=retries.integer("limit", 3, minimum=0) or 0,
            interval=retries.duration("interval") or 60,
            backoff=retries.number("backoff", 2.0) or 2.0,
            max_delay=retries.duration("max_delay"),
            on=on,
            span=retries.node.span,
        )
    resources = None
    res = extra.mapping("resources")
    if res is not None:
        res.check_keys(("cpu", "memory", "cpu_limit", "memory_limit"))
        resources = Resources(
            cpu_request=_quantity(res, "cpu"), memory_request=_quantity(res, "memory"),
            cpu_limit=_quantity(res, "cpu_limit"), memory_limit=_quantity(res, "memory_limit"),
            span=res.node.span,
        )
    return Policy(
        retry=retry, timeout=extra.duration("timeout"), resources=resources,
        runtime=extra.string("runtime", choices=RUNTIMES) or SPARKLE_RUNTIME, span=extra.node.span,
    )


def _quantity(reader: Reader, key: str) -> str | None:
    value = reader.literal(key)
    return None if value is None else str(value)


TRIGGER_FIELDS: dict[str, tuple[str, ...]] = {
    "s3": ("bucket", "prefix", "suffix"), "gcs": ("bucket", "prefix", "suffix"),
    "azure": ("bucket", "prefix", "suffix"), "minio": ("bucket", "prefix", "suffix"),
    "kafka": ("topic", "brokers", "consumer_group"), "webhook": ("endpoint", "method", "port"),
    "sns": ("topic_arn",), "sqs": ("queue", "region"), "github": ("owner", "repository", "events"),
    "event": ("source", "detail_type"),
}
_REQUIRED = {"kafka": ("topic", "brokers"), "webhook": ("endpoint",), "sns": ("topic_arn",),
             "sqs": ("queue",), "github": ("owner", "repository"), "event": ("source",)}


def triggers(extra: Reader) -> tuple[Trigger, ...]:
    result: list[Trigger] = []
    for item in extra.entry_readers("triggers"):
        if not item.require("type"):
            continue
        kind = item.string("type", choices=TRIGGER_FIELDS)
        if kind is None:
            continue
        item.check_keys(("type", *TRIGGER_FIELDS[kind]))
        required = ("bucket",) if kind in OBJECT_STORES else _REQUIRED[kind]
        if not all(item.require(k, f" for a {kind} trigger") for k in required):
            continue
        span = item.node.span
        text = {k: item.string(k) or "" for k in TRIGGER_FIELDS[kind] if k not in ("port", "events")}
        if kind in OBJECT_STORES:
            result.append(ObjectCreatedTrigger(store=kind, span=span, **text))
        elif kind == "kafka":
            result.append(KafkaTrigger(span=span, **text))
        elif kind == "webhook":
            result.append(WebhookTrigger(endpoint=text["endpoint"], method=text["method"] or "POST",
                                         port=item.integer("port", 12000, minimum=1) or 12000, span=span))
        elif kind == "sns":
            result.append(SnsTrigger(span=span, **text))
        elif kind == "sqs":
            result.append(SqsTrigger(queue=text["queue"], region=text["region"] or "us-east-1", span=span))
        elif kind == "github":
            result.append(GitHubTrigger(owner=text["owner"], repository=text["repository"],
                                        events=item.strings("events") or ("push",), span=span))
        else:
            result.append(CustomEventTrigger(span=span, **text))
    return tuple(result)


def exposures(extra: Reader, default_depends_on: tuple[str, ...]) -> tuple[Exposure, ...]:
    result = []
    for item in extra.entry_readers("exposures"):
        item.check_keys(("name", "type", "url", "maturity", "owner", "email", "description", "tags", "depends_on"))
        if not (item.require("name") and item.require("type")):
            continue
        name, kind = item.string("name"), item.string("type", choices=EXPOSURE_TYPES)
        if name and kind:
            result.append(Exposure(
                name=name, type=kind, depends_on=item.strings("depends_on") or default_depends_on,
                owner_name=item.string("owner", "") or "", owner_email=item.string("email", "") or "",
                url=item.string("url", "") or "", maturity=item.string("maturity", "medium", MATURITIES) or "medium",
                description=item.string("description", "") or "", tags=item.strings("tags"), span=item.node.span,
            ))
    return tuple(result)


def parameters(extra: Reader) -> tuple[Parameter, ...]:
    params = extra.mapping("parameters")
    result = []
    for name in params.keys() if params else ():
        assert params is not None
        spec = params.mapping(name)
        if spec is None:
            continue
        spec.check_keys(("type", "default"))
        raw = spec.raw("default")
        default = _value(raw.plain()) if raw is not None else None
        result.append(Parameter(name=name, type=spec.string("type", "string", PARAM_TYPES) or "string",
                                default=default, span=params.key_span(name)))
    return tuple(result)


def _value(plain: object) -> Scalar | tuple[Scalar, ...]:
    if isinstance(plain, list):
        return tuple(plain)
    return plain  # type: ignore[return-value]


def custom_transformers(extra: Reader) -> tuple[CustomTransformer, ...]:
    custom = extra.mapping("custom_transformers")
    return tuple(
        CustomTransformer(name=name, sql=sql, span=custom.value_span(name))
        for name in (custom.keys() if custom else ())
        if custom is not None and (sql := custom.string(name)) is not None
    )


def range_filters(extra: Reader) -> str | None:
    """`filters` as one SQL condition: `min_<column>` keeps rows whose column is at least the value,
    `max_<column>` at most; any other key is warned of and ignored."""
    filters = extra.mapping("filters")
    if filters is None:
        return None
    terms: list[exp.Expr] = []
    for key in filters.keys():
        bound, _, column = key.partition("_")
        if bound not in ("min", "max") or not column:
            filters.error("W101", f"`extra_config.filters.{key}` is ignored: sparklec reads `min_<column>` and "
                                  "`max_<column>` filters", filters.key_span(key),
                          "write it as `filter_condition` (a SQL condition)", Severity.WARNING)
            continue
        value = filters.literal(key)
        if value is None or isinstance(value, bool):
            filters.error("E103", f"`extra_config.filters.{key}` must be a number, a date or a string",
                          filters.value_span(key))
            continue
        literal = exp.Literal.number(value) if isinstance(value, (int, float)) else exp.Literal.string(str(value))
        comparison = exp.GTE if bound == "min" else exp.LTE
        terms.append(comparison(this=exp.column(column, quoted=True), expression=literal))
    return exp.and_(*terms).sql("databricks") if terms else None


def declared_columns(reader: Reader | None, key: str) -> tuple[Column, ...]:
    """Columns from ``{name: type}`` or ``[{name, type, nullable, description}]`` under `key`."""
    if reader is None or key not in reader:
        return ()
    node = reader.raw(key)
    assert node is not None
    entries: list[tuple[str, Reader | None, object]] = []
    if node.is_mapping:
        columns = Reader(node, reader.report, f"{reader.path}.{key}")
        entries = [(name, None, columns.raw(name)) for name in columns.keys()]
    else:
        for item in reader.entry_readers(key):
            item.check_keys(("name", "type", "nullable", "description"))
            if item.require("name") and item.require("type"):
                entries.append((item.string("name") or "", item, item.raw("type")))
    result = []
    for name, column_reader, type_node in entries:
        text = getattr(type_node, "value", None)
        span = getattr(type_node, "span", node.span)
        normal = normalize_type(text) if isinstance(text, str) else None
        if normal is None:
            reader.error("E113", f"column `{name}` has unknown type `{text}`", span,
                         "use string, int, bigint, double, decimal(p,s), boolean, date, timestamp, ...")
            continue
        result.append(Column(
            name=name, type=normal, span=span,
            nullable=column_reader.boolean("nullable", True) if column_reader else True,
            description=(column_reader.string("description", "") or "") if column_reader else "",
        ))
    return tuple(result)
