"""Pipeline types that operate on models and tables: ML, quality, contracts, reconciliation,
maintenance, governance, cost tagging and replication.  Each docstring is the task graph."""

from __future__ import annotations

from collections.abc import Iterable

from sparklec.frontends.config.expand import Expansion, pipeline_type, sql_identifier, sql_string
from sparklec.frontends.config.reader import Reader
from sparklec.ir.pipeline import Dataset
from sparklec.ir.tasks import (
    AcceptedValues, AnyCheck, CustomSqlCheck, Ingest, NotNull, QualityCheck, RunSql, Score, SelectModel, Step,
    Train, Transform, Unique,
)
from sparklec.ir.values import Setting


def qualified(dataset: Dataset) -> str:
    """The dataset's table in a statement of a SQL task: ``{{ name }}``."""
    return f"{{{{ {dataset.name} }}}}"


def set_properties(dataset: Dataset, properties: Iterable[tuple[str, str]]) -> str:
    """ALTER TABLE ... SET TBLPROPERTIES of the (key, value) pairs on the dataset's table."""
    listed = ", ".join(f"{sql_string(k)} = {sql_string(v)}" for k, v in properties)
    return f"ALTER TABLE {qualified(dataset)} SET TBLPROPERTIES ({listed})"


def retention(days: int) -> list[tuple[str, str]]:
    """The Delta table properties that keep `days` of history (time travel) and of deleted files."""
    interval = f"interval {days} days"
    return [("delta.logRetentionDuration", interval), ("delta.deletedFileRetentionDuration", interval)]


_ML_FIELDS = ("source_table", "transformers", "primary_key", "destination_catalog", "destination_schema",
              "feature_columns", "target_column", "write_mode", "partition_columns", "watermark_column")


LOWER_IS_BETTER = ("rmse", "mse", "mae", "mape", "log_loss", "logloss")
"""Metrics for which a smaller value wins, unless `higher_is_better` says otherwise."""
_TRAINING_EXTRA = ("candidates", "models_to_train", "metric", "higher_is_better", "champion_criteria",
                   "training_config", "feature_importance", "mlflow_config", "unity_catalog_registration",
                   "model_validation", "source_columns")


@pipeline_type(
    "ml_training_champion_challenger", required=("source_table", "model_name", "feature_columns", "target_column"),
    fields=(*_ML_FIELDS, "destination_table"), extra=_TRAINING_EXTRA,
)
def training(x: Expansion) -> tuple[Step, ...]:
    """training_data (the `transformers` chain) → train_<candidate> for every entry of `candidates` (or
    Sparkle's `models_to_train`), in parallel → select_champion (best metric of `champion_criteria`,
    registered as `model_name`) → with `destination_table`, the champion's predictions on the training data."""
    cfg = x.config
    source = x.source()
    if source is None:
        return ()
    key = "models_to_train" if "models_to_train" in x.extra else "candidates"
    candidates = x.extra.entry_readers(key)
    if not candidates:
        x.error("E106", "champion/challenger training needs `extra_config.models_to_train` (two or more)",
                x.extra.node.span, 'e.g. "models_to_train": [{"name": "xgb", "type": "xgboost"}, '
                '{"name": "rf", "type": "random_forest"}]')
    training = _settings(x.extra.mapping("training_config")) + tuple(
        Setting(key="feature_importance", value=value, span=x.extra.value_span("feature_importance"))
        for value in [x.extra.literal("feature_importance")] if value is not None)
    trains: list[Train] = []
    for candidate in candidates:
        kind = "type" if key == "models_to_train" else "algorithm"
        candidate.check_keys(("name", kind, "params"))
        if not (candidate.require("name") and candidate.require(kind)):
            continue
        trains.append(Train(
            name=f"train_{candidate.string('name')}", input="training_data", model_name=cfg.get("model_name") or "",
            feature_columns=cfg.list("feature_columns"), target_column=cfg.get("target_column") or "",
            algorithm=candidate.string(kind) or "", span=candidate.node.span, training=training,
            params=_settings(candidate.mapping("params")),
        ))
    steps: list[Step] = [x.transform("training_data", source.name, cfg.transformers), *trains, _champion(x, trains)]
    target = x.target() if cfg.get("destination_table") else None
    if target is not None:
        steps.append(Score(name="predict", input="training_data", model_name=cfg.get("model_name") or "",
                           feature_columns=cfg.list("feature_columns"), after=("select_champion",),
                           span=cfg.span("destination_table")))
        steps.append(x.write("predict", target, mode="overwrite"))
    return tuple(steps)


def _champion(x: Expansion, trains: list[Train]) -> SelectModel:
    """select_champion, from `champion_criteria` (or `metric` and `higher_is_better`), `model_validation` and
    the registration settings."""
    criteria = x.extra.mapping("champion_criteria")
    if criteria is not None:
        criteria.check_keys(("metric", "threshold", "improvement_threshold", "higher_is_better"))
    metric = (criteria.string("metric") if criteria else None) or x.extra.string("metric", "auc") or "auc"
    higher = criteria.raw("higher_is_better") if criteria else None
    validation = x.extra.mapping("model_validation")
    if validation is not None:
        validation.check_keys(("validation_checks", "fail_on_validation_error"))
    return SelectModel(
        name="select_champion", model_name=x.config.get("model_name") or "", candidates=tuple(t.name for t in trains),
        metric=metric,
        higher_is_better=criteria.boolean("higher_is_better", True) if criteria and higher else
        x.extra.boolean("higher_is_better", metric.lower() not in LOWER_IS_BETTER),
        minimum=criteria.number("threshold") if criteria else None,
        improvement=criteria.number("improvement_threshold") if criteria else None,
        validation=validation.strings("validation_checks", one=False) if validation else (),
        fail_on_invalid=validation.boolean("fail_on_validation_error", True) if validation else True,
        registration=_settings(x.extra.mapping("mlflow_config"), "mlflow.")
        + _settings(x.extra.mapping("unity_catalog_registration"), "unity_catalog."),
        span=x.config.span("model_name"),
    )


def _settings(reader: Reader | None, prefix: str = "") -> tuple[Setting, ...]:
    """The literal entries of a mapping, if there is one, as settings named `prefix` + key."""
    if reader is None:
        return ()
    return tuple(Setting(key=prefix + k, value=reader.literal(k), span=reader.key_span(k)) for k in reader.keys())


@pipeline_type(
    "ml_batch_scoring", "ml_realtime_scoring", required=("source_table", "model_name", "destination_table"),
    fields=(*_ML_FIELDS, "ingestor", "checkpoint_location"), extra=("model_stage", "source_columns", "quality_checks"),
)
def scoring(x: Expansion) -> tuple[Step, ...]:
    """features (the `transformers` chain) → score (`model_name` at `model_stage`) → write.
    Real-time scoring first reads `source_table` as a stream (ingest) and appends incrementally."""
    cfg = x.config
    realtime = cfg.pipeline_type == "ml_realtime_scoring"
    source, target = x.source(), x.target()
    if source is None or target is None:
        return ()
    steps: list[Step] = []
    relation = source.name
    if realtime:
        if not cfg.get("checkpoint_location"):
            x.error("E106", "real-time scoring needs `checkpoint_location`", cfg.reader.node.span)
        steps.append(Ingest(name="ingest", ingestor=cfg.get("ingestor") or "delta_stream", source=source.qualified_name,
                            streaming=True, checkpoint=cfg.get("checkpoint_location"), columns=source.columns,
                            span=cfg.span("source_table")))
        relation = "ingest"
    steps.append(x.transform("features", relation, cfg.transformers))
    steps.append(Score(name="score", input="features", model_name=cfg.get("model_name") or "",
                       stage=x.extra.string("model_stage", "champion") or "champion",
                       feature_columns=cfg.list("feature_columns"), span=cfg.span("model_name")))
    checks = x.checks("score")
    steps.extend(checks)
    steps.append(x.write("score", target, mode="append" if realtime else None, gates=checks))
    return tuple(steps)


@pipeline_type(
    "model_drift_monitoring", required=("source_table", "feature_columns", "destination_table"),
    fields=("destination_catalog", "destination_schema", "model_name", "transformers"),
    extra=("baseline_table", "drift_threshold", "source_columns"),
)
def drift(x: Expansion) -> tuple[Step, ...]:
    """drift_metrics (per feature: mean shift of `source_table` against `baseline_table`, in
    baseline standard deviations) → drift_check (fails when a shift exceeds `drift_threshold`)
    → write (the metrics, appended)."""
    cfg = x.config
    source, target = x.source(), x.target()
    baseline = x.dataset("extra_config", table=x.extra.string("baseline_table"))
    if "baseline_table" not in x.extra:
        x.error("E106", "drift monitoring needs `extra_config.baseline_table`", x.extra.node.span)
    if source is None or target is None or baseline is None:
        return ()
    threshold = x.extra.number("drift_threshold", 3.0) or 3.0
    selects = [
        f"SELECT {sql_string(f)} AS feature, AVG(c.{sql_identifier(f)}) AS current_mean, "
        f"AVG(b.{sql_identifier(f)}) AS baseline_mean, STDDEV(b.{sql_identifier(f)}) AS baseline_stddev "
        f"FROM {{{{ {source.name} }}}} AS c CROSS JOIN {{{{ {baseline.name} }}}} AS b"
        for f in cfg.list("feature_columns")
    ]
    metrics = Transform(
        name="drift_metrics", span=cfg.span("feature_columns"),
        sql="SELECT feature, current_mean, baseline_mean, baseline_stddev, "
        "ABS(current_mean - baseline_mean) / NULLIF(baseline_stddev, 0) AS drift_score FROM ("
        + " UNION ALL ".join(selects) + ") AS per_feature",
    )
    check = QualityCheck(name="drift_check", input="drift_metrics", span=x.extra.value_span("drift_threshold"), checks=(
        CustomSqlCheck(name="drift_within_threshold",
                       sql=f"SELECT * FROM {{{{ input }}}} WHERE drift_score > {threshold}"),
    ))
    return (metrics, check, x.write("drift_metrics", target, mode="append", unique_key=()))


@pipeline_type(
    "data_quality_expectations", required=("source_table",), fields=("expectations_suite", "primary_key"),
    extra=("quality_checks", "source_columns"),
)
def expectations(x: Expansion) -> tuple[Step, ...]:
    """quality_checks on `source_table` (from `extra_config.quality_checks`; the task is named
    after `expectations_suite` when given)."""
    source = x.source()
    checks = x.checks(source.name) if source else ()
    if not checks:
        x.error("E106", "`data_quality_expectations` needs `extra_config.quality_checks`", x.extra.node.span)
        return ()
    suite = x.config.get("expectations_suite")
    return tuple(QualityCheck(name=suite if suite and suite.isidentifier() else c.name, input=c.input,
                              checks=c.checks, severity=c.severity, description=suite or "", span=c.span)
                 for c in checks)


@pipeline_type(
    "data_contract_enforcement", required=("source_table", "data_contract"), fields=("primary_key",),
    extra=("quality_checks",),
)
def contract(x: Expansion) -> tuple[Step, ...]:
    """enforce_contract on `source_table`: its declared columns exist (checked at compile time),
    non-nullable columns are not NULL, `primary_key` is unique, enumerated values are accepted;
    plus any `quality_checks`."""
    contract_reader = x.config.data_contract
    source = x.source()
    if contract_reader is None or source is None:
        return ()
    contract_reader.check_keys(("columns", "owner", "version", "description", "accepted_values"))
    if not source.columns:
        x.error("E106", "`data_contract.columns` must declare at least one column", contract_reader.node.span)
        return ()
    checks: list[AnyCheck] = []
    required = tuple(c.name for c in source.columns if not c.nullable)
    if required:
        checks.append(NotNull(column_names=required))
    if source.primary_key:
        checks.append(Unique(column_names=source.primary_key))
    accepted = contract_reader.mapping("accepted_values")
    for column in accepted.keys() if accepted else ():
        assert accepted is not None
        values = tuple(v.value for v in accepted.items(column) if not (v.is_list or v.is_mapping))
        checks.append(AcceptedValues(column=column, values=values, span=accepted.value_span(column)))
    extra_checks = x.checks(source.name)
    checks.extend(c for task in extra_checks for c in task.checks)
    if not checks:
        x.error("E106", "the data contract declares nothing to enforce", contract_reader.node.span,
                "mark columns `\"nullable\": false`, set `primary_key`, or add `accepted_values`")
        return ()
    return (QualityCheck(name="enforce_contract", input=source.name, checks=tuple(checks),
                         description=contract_reader.string("description", "") or "",
                         span=contract_reader.node.span),)


@pipeline_type(
    "table_reconciliation", required=("source_table",), fields=("primary_key",),
    extra=("compare_table", "tolerance"),
)
def reconciliation(x: Expansion) -> tuple[Step, ...]:
    """reconcile: the row counts of `source_table` and `compare_table` differ by at most
    `tolerance`; with `primary_key`, every source key exists in the compared table."""
    source = x.source()
    if "compare_table" not in x.extra:
        x.error("E106", "reconciliation needs `extra_config.compare_table`", x.extra.node.span)
    compare = x.dataset("extra_config", table=x.extra.string("compare_table"))
    if source is None or compare is None:
        return ()
    tolerance = x.extra.integer("tolerance", 0, minimum=0) or 0
    checks: list[AnyCheck] = [CustomSqlCheck(
        name="row_counts_match",
        sql=f"SELECT s.n AS source_rows, t.n AS compared_rows FROM (SELECT COUNT(*) AS n FROM {{{{ input }}}}) AS s "
        f"CROSS JOIN (SELECT COUNT(*) AS n FROM {{{{ {compare.name} }}}}) AS t WHERE ABS(s.n - t.n) > {tolerance}",
    )]
    keys = x.config.list("primary_key")
    if keys:
        join = " AND ".join(f"s.{sql_identifier(k)} = t.{sql_identifier(k)}" for k in keys)
        checks.append(CustomSqlCheck(
            name="keys_present",
            sql=f"SELECT s.* FROM {{{{ input }}}} AS s LEFT JOIN {{{{ {compare.name} }}}} AS t ON {join} "
            f"WHERE t.{sql_identifier(keys[0])} IS NULL",
        ))
    return (QualityCheck(name="reconcile", input=source.name, checks=tuple(checks), span=x.config.span("source_table")),)


@pipeline_type(
    "vacuum_optimize_maintenance", "zorder_analyze", required=("destination_table",),
    fields=("destination_catalog", "destination_schema", "partition_columns"),
    extra=("zorder_columns", "vacuum_retention_hours", "retention_days"),
)
def maintenance(x: Expansion) -> tuple[Step, ...]:
    """vacuum_optimize_maintenance: optimize (Z-ordered by `zorder_columns` if given) → vacuum
    (`vacuum_retention_hours`, default 168) → analyze.  zorder_analyze: optimize with Z-order
    (required) → analyze for all columns."""
    target = x.target()
    if target is None:
        return ()
    table = qualified(target)
    zorder = x.extra.strings("zorder_columns")
    zorder_only = x.config.pipeline_type == "zorder_analyze"
    if zorder_only and not zorder:
        x.error("E106", "`zorder_analyze` needs `extra_config.zorder_columns`", x.extra.node.span)
        return ()
    optimize = f"OPTIMIZE {table}" + (f" ZORDER BY ({', '.join(sql_identifier(c) for c in zorder)})" if zorder else "")
    span = x.config.span("pipeline_type")
    steps: list[Step] = [RunSql(name="optimize", statements=(optimize,), span=span)]
    if not zorder_only:
        hours = x.extra.integer("vacuum_retention_hours", 168, minimum=0)
        steps.append(RunSql(name="vacuum", statements=(f"VACUUM {table} RETAIN {hours} HOURS",), after=("optimize",),
                            span=span))
    analyze = f"ANALYZE TABLE {table} COMPUTE STATISTICS" + (" FOR ALL COLUMNS" if zorder_only else "")
    steps.append(RunSql(name="analyze", statements=(analyze,), after=(steps[-1].name,), span=span))
    return tuple(steps)


@pipeline_type(
    "unity_catalog_governance_sync", required=("destination_table",),
    fields=("destination_catalog", "destination_schema", "data_contract"), extra=("grants",),
)
def governance(x: Expansion) -> tuple[Step, ...]:
    """apply_tags (the pipeline `tags` as Unity Catalog table tags) → apply_grants
    (`extra_config.grants`) → apply_comments (column descriptions from `data_contract`)."""
    target = x.target()
    if target is None:
        return ()
    table = qualified(target)
    steps: list[Step] = []
    if x.config.tags:
        pairs = ", ".join(f"{sql_string(k)} = {sql_string(v)}" for k, v, _ in x.config.tags)
        steps.append(RunSql(name="apply_tags", statements=(f"ALTER TABLE {table} SET TAGS ({pairs})",),
                            span=x.config.span("tags")))
    grants = []
    for grant in x.extra.entry_readers("grants"):
        grant.check_keys(("principal", "privilege"))
        if grant.require("principal") and grant.require("privilege"):
            privilege = grant.string("privilege", choices=("SELECT", "MODIFY", "ALL PRIVILEGES", "READ_METADATA"))
            principal = grant.string("principal") or ""
            if privilege:
                grants.append(f"GRANT {privilege} ON TABLE {table} TO {sql_identifier_always(principal)}")
    if grants:
        steps.append(RunSql(name="apply_grants", statements=tuple(grants), span=x.extra.value_span("grants"),
                            after=tuple(s.name for s in steps[-1:])))
    comments = tuple(
        f"ALTER TABLE {table} ALTER COLUMN {sql_identifier(c.name)} COMMENT {sql_string(c.description)}"
        for c in x.source_columns_of_contract() if c.description
    )
    if comments:
        steps.append(RunSql(name="apply_comments", statements=comments, after=tuple(s.name for s in steps[-1:]),
                            span=x.config.span("data_contract")))
    if not steps:
        x.error("E106", "governance sync has nothing to apply", x.config.reader.node.span,
                "add `tags`, `extra_config.grants` or column descriptions in `data_contract`")
    return tuple(steps)


def sql_identifier_always(name: str) -> str:
    """A back-quoted identifier (principals such as `data-team@company.com` need the quotes)."""
    return "`" + name.replace("`", "``") + "`"


@pipeline_type(
    "cost_attribution_tagging", required=("tags",), fields=("source_table", "source_tables", "destination_table",
                                                            "destination_catalog", "destination_schema"),
)
def cost_tagging(x: Expansion) -> tuple[Step, ...]:
    """tag_tables: the pipeline `tags` as table properties on every table in `source_tables`
    (and `source_table`/`destination_table`)."""
    tables = [d for d in _tables(x) if d is not None]
    if not tables:
        x.error("E106", "cost tagging needs `source_tables` (the tables to tag)", x.config.reader.node.span)
        return ()
    properties = [(k, v) for k, v, _ in x.config.tags]
    return (RunSql(name="tag_tables", span=x.config.span("tags"),
                   statements=tuple(set_properties(t, properties) for t in tables)),)


def _tables(x: Expansion) -> list[Dataset | None]:
    tables = [x.dataset("source_tables", table=t) for t in x.config.list("source_tables")]
    if x.config.get("source_table"):
        tables.append(x.dataset("source_table"))
    if x.config.get("destination_table"):
        tables.append(x.target())
    return tables


@pipeline_type(
    "disaster_recovery_replication", fields=("source_table", "source_tables"), extra=("replica_catalog",),
)
def replication(x: Expansion) -> tuple[Step, ...]:
    """replicate (a deep clone of every source table into `replica_catalog`) → verify_replicas
    (row counts equal)."""
    if "replica_catalog" not in x.extra:
        x.error("E106", "replication needs `extra_config.replica_catalog`", x.extra.node.span)
    replica_catalog = x.extra.string("replica_catalog") or ""
    sources = [d for d in _tables(x) if d is not None]
    if not sources:
        x.error("E106", "replication needs `source_table` or `source_tables`", x.config.reader.node.span)
    if not sources or not replica_catalog:
        return ()
    statements, checks = [], []
    for source in sources:
        replica = Dataset(name=f"{source.name}_replica", catalog=replica_catalog, schema=source.schema,
                          table=source.table, span=source.span)
        x.datasets.append(replica)
        statements.append(f"CREATE OR REPLACE TABLE {qualified(replica)} DEEP CLONE {qualified(source)}")
        checks.append(QualityCheck(name=f"verify_{source.name}", input=replica.name, after=("replicate",), checks=(
            CustomSqlCheck(name="row_counts_match", sql=(
                f"SELECT r.n, s.n FROM (SELECT COUNT(*) AS n FROM {{{{ input }}}}) AS r CROSS JOIN "
                f"(SELECT COUNT(*) AS n FROM {{{{ {source.name} }}}}) AS s WHERE r.n <> s.n")),
        ), span=source.span))
    return (RunSql(name="replicate", statements=tuple(statements), span=x.extra.value_span("replica_catalog")),
            *checks)
