"""Feature-store pipelines: the join of `source_tables` (point in time when asked), and the feature table's
store settings (`feature_store_config`, `versioning`)."""

from __future__ import annotations

from sparklec.frontends.config.expand import Expansion, sql_identifier
from sparklec.frontends.config.operations import retention, set_properties
from sparklec.ir.pipeline import Dataset
from sparklec.ir.tasks import RunSql, Transform
from sparklec.ir.transformers import InvalidParams, Op, build_op

RANK = "__sparklec_rank"
FEATURE_STORE_KEYS = ("point_in_time_joins", "ttl", "online_store", "feature_table_name", "description")
VERSIONING_KEYS = ("enabled", "retention_days")
ENGINEERING_KEYS = ("columns", "lags", "rolling_windows", "rolling_stats", "aggregation_windows")


def engineered(x: Expansion) -> tuple[Op, ...]:
    """``feature_engineering`` as an `add_window_features` op: lags, rolling statistics and time-window
    aggregates of each feature column (`columns`, by default `feature_columns`) over its entity's history
    (`primary_key`), in `watermark_column` order."""
    spec = x.extra.mapping("feature_engineering")
    if spec is None:
        return ()
    spec.check_keys(ENGINEERING_KEYS)
    cfg = x.config
    watermark = cfg.get("watermark_column")
    if not watermark:
        x.error("E106", "`feature_engineering` needs `watermark_column`: the order of each entity's history",
                x.extra.value_span("feature_engineering"))
        return ()
    params = {key: spec.node.value[key][1].plain() for key in ENGINEERING_KEYS if key in spec}
    params.setdefault("columns", [f for f in cfg.list("feature_columns") if f != watermark])
    try:
        return (build_op("add_window_features", {"partition_by": list(cfg.list("primary_key")), "order_by": [watermark],
                                                 **params}, x.extra.value_span("feature_engineering")),)
    except InvalidParams as error:
        for problem in error.problems:
            x.error("E112", f"feature_engineering: {problem.message}",
                    spec.value_span(problem.param) if problem.param and problem.param in spec else spec.node.span,
                    problem.help)
        return ()


def joined_sources(x: Expansion) -> list[Dataset]:
    """The datasets of `source_tables`, the spine first: `source_table` when given, else the first listed."""
    spine = x.source() if x.config.get("source_table") else None
    listed = [x.dataset("source_tables", table=table) for table in x.config.list("source_tables")]
    datasets = [d for d in (spine, *listed) if d is not None]
    if spine is None and datasets:
        x.source_name = datasets[0].name
    return datasets


def feature_join(x: Expansion, sources: list[Dataset], chain: tuple[Op, ...]) -> Transform | None:
    """The `feature_columns` of the sources joined to the spine's rows on `primary_key`, then `chain`.

    Each other source is LEFT JOINed, so every spine row stays.  With
    ``feature_store_config.point_in_time_joins``, a row of another source matches only when its
    `watermark_column` is not after the spine row's (and, with ``ttl``, not older than it by more), and
    the latest such row is taken: features as they were known at that time.
    """
    cfg = x.config
    keys, watermark = cfg.list("primary_key"), cfg.get("watermark_column")
    store = x.extra.mapping("feature_store_config")
    point_in_time = _point_in_time(x)
    ttl = store.duration("ttl") if store else None
    features = [f for f in cfg.list("feature_columns") if f not in keys and f != watermark]
    if not features:
        x.error("E106", "joining `source_tables` needs `feature_columns`: what to take from each source",
                cfg.span("source_tables"), 'add `"feature_columns": [...]`')
        return None
    if (point_in_time or ttl is not None) and not watermark:
        x.error("E106", "a point-in-time join needs `watermark_column`: the time each row's features hold at",
                cfg.span("source_tables"))
        return None
    spine, others = sources[0], sources[1:]
    q = sql_identifier
    selected = [f"s.{q(k)} AS {q(k)}" for k in keys] + ([f"s.{q(watermark)} AS {q(watermark)}"] if watermark else [])
    selected += [q(f) for f in features]
    joins = []
    for index, other in enumerate(others, 1):
        on = [f"j{index}.{q(k)} = s.{q(k)}" for k in keys]
        if point_in_time and watermark:
            on.append(f"j{index}.{q(watermark)} <= s.{q(watermark)}")
        if ttl is not None and watermark:
            on.append(f"j{index}.{q(watermark)} >= s.{q(watermark)} - INTERVAL {ttl} SECONDS")
        joins.append(f"LEFT JOIN {{{{ {other.name} }}}} AS j{index} ON " + " AND ".join(on))
    body = f"FROM {{{{ {spine.name} }}}} AS s" + "".join(f" {j}" for j in joins)
    if point_in_time and watermark and others:
        latest = ", ".join(f"j{i}.{q(watermark)} DESC NULLS LAST" for i in range(1, len(others) + 1))
        partition = ", ".join(f"s.{q(c)}" for c in (*keys, watermark))
        columns = ", ".join(q(c) for c in (*keys, watermark, *features))
        sql = (f"SELECT {columns} FROM (SELECT {', '.join(selected)}, ROW_NUMBER() OVER (PARTITION BY {partition} "
               f"ORDER BY {latest}) AS {RANK} {body}) AS point_in_time WHERE {RANK} = 1")
    else:
        sql = f"SELECT {', '.join(selected)} {body}"
    return Transform(name="transform", sql=sql, steps=chain, span=cfg.span("source_tables"))


def series_key(x: Expansion) -> tuple[str, ...] | None:
    """The key of a point-in-time feature table, a time series: `primary_key` and `watermark_column` (None:
    the default key)."""
    watermark = x.config.get("watermark_column")
    if not watermark or not _point_in_time(x):
        return None
    return tuple(dict.fromkeys((*x.config.list("primary_key"), watermark)))


def _point_in_time(x: Expansion) -> bool:
    store = x.extra.mapping("feature_store_config")
    return store.boolean("point_in_time_joins", False) if store else False


def store_settings(x: Expansion, target: Dataset) -> tuple[RunSql, ...]:
    """Table properties the feature table needs after its write: the change data feed an online store syncs
    from (``feature_store_config.online_store``), and the history kept for reading past versions
    (``versioning``)."""
    store, versioning = x.extra.mapping("feature_store_config"), x.extra.mapping("versioning")
    properties: list[tuple[str, str]] = []
    if store is not None:
        store.check_keys(FEATURE_STORE_KEYS)
        online = store.raw("online_store")
        if online is not None and online.value not in (False, None):
            properties.append(("delta.enableChangeDataFeed", "true"))
    if versioning is not None:
        versioning.check_keys(VERSIONING_KEYS)
        days = versioning.integer("retention_days", minimum=1)
        if versioning.boolean("enabled", True) and days is not None:
            properties += retention(days)
    if not properties:
        return ()
    span = x.extra.value_span("feature_store_config" if store is not None else "versioning")
    return (RunSql(name="feature_table_properties", after=("write",), span=span,
                   statements=(set_properties(target, properties),)),)
