"""SQL for the transformers that change the grain or look across rows: aggregates, pivots and windows."""

from __future__ import annotations

from sqlglot import exp
from typing_extensions import assert_never

from sparklec.ir import transformers as tf
from sparklec.sql.ops import Lowering, Relation, as_macro, column, identifier, literal, lowers
from sparklec.sql.user_sql import parse_expression


AGGREGATES: dict[str, type[exp.AggFunc]] = {"sum": exp.Sum, "avg": exp.Avg, "count": exp.Count, "min": exp.Min,
                                             "max": exp.Max, "stddev": exp.Stddev}


def _rows(preceding: int | None) -> exp.WindowSpec:
    """ROWS BETWEEN `preceding` (None: unbounded) PRECEDING AND CURRENT ROW."""
    start = "UNBOUNDED" if preceding is None else exp.Literal.number(preceding)
    return exp.WindowSpec(kind="ROWS", start=start, start_side="PRECEDING", end="CURRENT ROW")


@lowers(tf.Aggregate, tf.AggregateByKey, tf.RollupAggregation, tf.CubeAggregation)
def _aggregate(lw: Lowering, op: tf.Aggregate | tf.RollupAggregation, source: Relation) -> exp.Select:
    """``GROUP BY`` the keys, or by their ``ROLLUP`` or ``CUBE``, with the measures."""
    keys = [column(c) for c in op.group_by]
    measures = [exp.alias_(parse_expression(m.expression, f"measure `{m.name}`", op.span), identifier(m.name))
                for m in op.measures]
    query = exp.select(*keys, *measures).from_(identifier(source.name), copy=False)
    if isinstance(op, tf.RollupAggregation):
        grouping = exp.Cube if isinstance(op, tf.CubeAggregation) else exp.Rollup
        return query.group_by(grouping(expressions=[k.copy() for k in keys]), copy=False)
    return query.group_by(*(k.copy() for k in keys), copy=False) if keys else query


@lowers(tf.AddRunningTotal)
def _running_total(lw: Lowering, op: tf.AddRunningTotal, source: Relation) -> exp.Select:
    total = lw.window(exp.Sum(this=column(op.column)), op.partition_by, op.order_by, frame=_rows(None))
    return lw.project(op, source, add=[(op.columns_added(())[0].name, total)])


@lowers(tf.AddMovingAverage)
def _moving_average(lw: Lowering, op: tf.AddMovingAverage, source: Relation) -> exp.Select:
    average = lw.window(exp.Avg(this=column(op.column)), op.partition_by, op.order_by,
                        frame=_rows(max(op.window_size - 1, 0)))
    return lw.project(op, source, add=[(op.columns_added(())[0].name, average)])


@lowers(tf.AddLagLeadColumns)
def _lag_lead(lw: Lowering, op: tf.AddLagLeadColumns, source: Relation) -> exp.Select:
    lag_name, lead_name = (c.name for c in op.columns_added(()))
    periods = exp.Literal.number(op.periods)
    return lw.project(op, source, add=[
        (lag_name, lw.window(exp.Lag(this=column(op.column), offset=periods), op.partition_by, op.order_by)),
        (lead_name, lw.window(exp.Lead(this=column(op.column), offset=periods.copy()), op.partition_by, op.order_by)),
    ])


@lowers(tf.AddRowNumber, tf.AddRank, tf.AddNtile, tf.AddPercentileRank)
def _numbering(lw: Lowering, op: tf.AddRowNumber | tf.AddRank | tf.AddNtile | tf.AddPercentileRank,
               source: Relation) -> exp.Select:
    function: exp.Expr
    match op:
        case tf.AddRowNumber():
            function, name = exp.RowNumber(), op.column_name
        case tf.AddRank():
            function, name = exp.DenseRank() if op.dense else exp.Rank(), op.column_name
        case tf.AddNtile():
            function, name = exp.Ntile(this=exp.Literal.number(op.n)), op.target_column
        case tf.AddPercentileRank():
            function, name = exp.PercentRank(), op.target_column
        case _:
            assert_never(op)
    return lw.project(op, source, add=[(name, lw.window(function, op.partition_by, op.order_by))])


@lowers(tf.PivotTable)
def _pivot(lw: Lowering, op: tf.PivotTable, source: Relation) -> exp.Select:
    """One conditional aggregate per pivot value, ``GROUP BY`` the index."""
    function = AGGREGATES[op.agg_func]
    cells = [exp.alias_(function(this=exp.Case(ifs=[exp.If(
        this=exp.EQ(this=column(op.columns), expression=literal(value)), true=column(op.values))])), identifier(str(value)))
        for value in op.pivot_values]
    keys = [column(c) for c in op.index]
    query = exp.select(*keys, *cells).from_(identifier(source.name), copy=False)
    return query.group_by(*(k.copy() for k in keys), copy=False) if keys else query


@lowers(tf.ApplyScdType3)
def _scd3(lw: Lowering, op: tf.ApplyScdType3, source: Relation) -> exp.Select:
    if op.key_columns is None and source.columns is None:
        raise lw.fail(op, f"`{op.NAME}` keys by every untracked column, which are not known here",
                      "give `key_columns`, or declare the source's columns")
    key = op.key(source.columns or ())
    return lw.project(op, source, add=[(added.name, lw.window(exp.Lag(this=column(tracked)), key, op.order_by))
                                       for added, tracked in zip(op.columns_added(()), op.columns_to_track, strict=True)])


@lowers(tf.AddWindowFeatures)
def _window_features(lw: Lowering, op: tf.AddWindowFeatures, source: Relation) -> exp.Select:
    by_day = next((c.type == "date" for c in source.columns or () if c.name == op.order_by[0]), False)
    added = []
    for feature in op.features(source.columns or ()):
        value = column(feature.source)
        if feature.function == "lag":
            window = lw.window(exp.Lag(this=value, offset=exp.Literal.number(feature.extent)), op.partition_by,
                               op.order_by)
        elif feature.frame == "rows":
            window = lw.window(AGGREGATES[feature.function](this=value), op.partition_by, op.order_by,
                               frame=_rows(max(feature.extent - 1, 0)))
        else:
            reach = feature.extent // 86400 if by_day else feature.extent
            window = lw.window(AGGREGATES[feature.function](this=value), op.partition_by,
                               [_time_number(op.order_by[0], by_day)], frame=exp.WindowSpec(
                                   kind="RANGE", start=exp.Literal.number(reach), start_side="PRECEDING",
                                   end="CURRENT ROW"))
        added.append((feature.column.name, window))
    return lw.project(op, source, add=added)


def _time_number(name: str, by_day: bool) -> exp.Expr:
    """A date as its day number, a timestamp as its epoch second: what a RANGE frame of days or seconds orders."""
    if by_day:
        epoch = exp.Cast(this=exp.Literal.string("1970-01-01"), to=exp.DataType.build("date"))
        days = exp.DateDiff(this=column(name), expression=epoch, unit=exp.Var(this="DAY"))
        return as_macro(days, "day_number", value=column(name))
    seconds = exp.TimeToUnix(this=exp.Cast(this=column(name), to=exp.DataType.build("timestamp")))
    return as_macro(seconds, "epoch_second", value=column(name))


@lowers(tf.ApplyScdType2)
def _scd2_in_batch(lw: Lowering, op: tf.ApplyScdType2, source: Relation) -> exp.Select:
    """The rows that change a compared column (flagged with LAG in a subquery), then the versions they open."""
    if source.columns is None:
        raise lw.fail(op, f"`{op.NAME}` needs the input's columns", "declare the source's columns")
    names = [column(c.name) for c in source.columns]
    order = (op.effective_date_column,)
    first = exp.EQ(this=lw.window(exp.RowNumber(), op.key_columns, order), expression=exp.Literal.number(1))
    changes = [exp.Not(this=exp.NullSafeEQ(this=column(c), expression=lw.window(exp.Lag(this=column(c)),
                                                                              op.key_columns, order)))
               for c in op.compare_columns]
    flagged = exp.select(*names, exp.alias_(exp.or_(first, *changes), identifier(CHANGED))).from_(
        identifier(source.name), copy=False)
    kept = exp.select(*(c.copy() for c in names)).from_(flagged.subquery("flagged"), copy=False).where(
        column(CHANGED), copy=False)
    following = lw.window(exp.Lead(this=column(op.effective_date_column)), op.key_columns, order)
    last = exp.Cast(this=exp.Literal.string("9999-12-31"),
                    to=exp.DataType.build(op.time_type(source.columns), dialect="databricks"))
    versions = [exp.alias_(exp.Coalesce(this=following, expressions=[last]), identifier(op.end_date_column)),
                exp.alias_(exp.Is(this=following.copy(), expression=exp.Null()), identifier(op.current_flag_column))]
    if op.version_column:
        versions.append(exp.alias_(lw.window(exp.RowNumber(), op.key_columns, order), identifier(op.version_column)))
    return exp.select(*(c.copy() for c in names), *versions).from_(kept.subquery("versions"), copy=False)


CHANGED = "__sparklec_changed"
