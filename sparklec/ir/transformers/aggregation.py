"""Transformers that change the grain or look across rows: aggregates and windows."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from sparklec.ir.transformers.base import (
    AGGREGATE_FUNCTIONS, Measure, Op, RankingOp, Schema, as_columns, as_literals, param, require_numeric,
)
from sparklec.ir.expressions import columns_named, value_type
from sparklec.ir.values import Column, format_duration, is_numeric_type, parse_duration


def as_measures(value: object) -> tuple[Measure, ...]:
    """Measures from ``[{name, expression}]`` or from ``{column: [sum, avg, ...]}``."""
    if isinstance(value, Mapping) and value:
        measures = []
        for column, functions in value.items():
            names = [functions] if isinstance(functions, str) else functions
            if not isinstance(names, (list, tuple)) or not names:
                raise ValueError(f"expected a list of aggregate functions for `{column}`")
            for function in names:
                if function not in AGGREGATE_FUNCTIONS:
                    raise ValueError(
                        f"unknown aggregate function `{function}` for `{column}`; "
                        f"use one of {', '.join(AGGREGATE_FUNCTIONS)}"
                    )
                measures.append(Measure(name=f"{column}_{function}", expression=f"{function}({column})"))
        return tuple(measures)
    if isinstance(value, (list, tuple)) and value and all(
        isinstance(m, Mapping) and set(m) == {"name", "expression"}
        and isinstance(m["name"], str) and isinstance(m["expression"], str)
        for m in value
    ):
        return tuple(Measure(name=m["name"], expression=m["expression"]) for m in value)
    raise ValueError(
        "expected a list of {name, expression} measures or a map {column: [sum, avg, count, ...]}"
    )


def grouped_columns(group_by: tuple[str, ...], measures: tuple[Measure, ...], columns: Schema) -> Schema:
    """The columns of a grouping of `columns`: its keys, then its measures typed from their SQL."""
    by_name = {c.name: c for c in columns}
    types = {name: c.type for name, c in by_name.items() if c.type}
    return tuple(by_name.get(g, Column(name=g)) for g in group_by) + tuple(
        Column(name=m.name, type=value_type(m.expression, types)) for m in measures)


@attrs.frozen(kw_only=True)
class Aggregate(Op):
    """``GROUP BY`` `group_by` with one output column per measure."""

    NAME = "aggregate"
    CHANGES_GRAIN = True
    NAMES_EVERY_COLUMN = True
    group_by: tuple[str, ...] = param((), convert=as_columns)
    measures: tuple[Measure, ...] = param(aliases=("aggregations",), convert=as_measures)

    def columns_read(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.group_by, *(c for m in self.measures for c in columns_named(m.expression)))))

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        numeric_only = ("sum", "avg", "stddev", "variance")
        problems = []
        for measure in self.measures:
            source = columns.get(measure.column or "")
            if source and source.type and measure.function in numeric_only and not is_numeric_type(source.type):
                problems.append((source.name, f"`{measure.expression}` needs a numeric column, "
                                 f"but `{source.name}` is {source.type}"))
        return problems

    def output_columns(self, columns: Schema) -> Schema | None:
        return grouped_columns(self.group_by, self.measures, columns)


@attrs.frozen(kw_only=True)
class AggregateByKey(Aggregate):
    """``GROUP BY`` `group_by` with ``{column: [sum, avg, ...]}`` measures named ``<column>_<function>`` (Sparkle's
    name for `aggregate`)."""

    NAME = "aggregate_by_key"


@attrs.frozen(kw_only=True)
class RollupAggregation(Op):
    """`agg_func` of `agg_column` for every prefix of `group_by` (``GROUP BY ROLLUP``): each group, then
    subtotals with the later keys NULL, then the grand total with every key NULL."""

    NAME = "rollup_aggregation"
    CHANGES_GRAIN = True
    NAMES_EVERY_COLUMN = True
    group_by: tuple[str, ...] = param(convert=as_columns)
    agg_column: str = param()
    agg_func: str = param("sum", choices=("sum", "avg", "count", "min", "max"))

    @property
    def measures(self) -> tuple[Measure, ...]:
        return (Measure(name=f"{self.agg_column}_{self.agg_func}", expression=f"{self.agg_func}({self.agg_column})"),)

    def columns_read(self) -> tuple[str, ...]:
        return (*self.group_by, self.agg_column)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_numeric(columns, self.agg_column, self.NAME) if self.agg_func in ("sum", "avg") else []

    def output_columns(self, columns: Schema) -> Schema | None:
        return grouped_columns(self.group_by, self.measures, columns)


@attrs.frozen(kw_only=True)
class CubeAggregation(RollupAggregation):
    """`agg_func` of `agg_column` for every subset of `group_by` (``GROUP BY CUBE``); a NULL key is a subtotal
    over that key (or a group whose key is NULL)."""

    NAME = "cube_aggregation"


def as_pivot_values(value: object) -> tuple[str | int | float | bool, ...]:
    values = as_literals(value)
    if not values or None in values or len({str(v) for v in values}) != len(values):
        raise ValueError("expected a list of distinct, non-NULL values of the pivoted column")
    return values  # type: ignore[return-value]


@attrs.frozen(kw_only=True)
class PivotTable(Op):
    """One row per `index` group, one column per value of `pivot_values` (named as the value): `agg_func` of
    `values` over the group's rows whose `columns` holds that value (a count over no rows is 0).  The values
    are required: Sparkle's PySpark reads them from the data, and a compiled query's columns are fixed."""

    NAME = "pivot_table"
    CHANGES_GRAIN = True
    NAMES_EVERY_COLUMN = True
    index: tuple[str, ...] = param(aliases=("group_by",), convert=as_columns)
    columns: str = param(aliases=("pivot_column",))
    values: str = param(aliases=("value_column",))
    pivot_values: tuple[str | int | float | bool, ...] = param(convert=as_pivot_values)
    agg_func: str = param("sum", choices=("sum", "avg", "count", "min", "max"))

    @property
    def measures(self) -> tuple[Measure, ...]:
        return tuple(Measure(name=str(v), expression=f"{self.agg_func}({self.values})") for v in self.pivot_values)

    def columns_read(self) -> tuple[str, ...]:
        return (*self.index, self.columns, self.values)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_numeric(columns, self.values, self.NAME) if self.agg_func in ("sum", "avg") else []

    def output_columns(self, columns: Schema) -> Schema | None:
        return grouped_columns(self.index, self.measures, columns)


@attrs.frozen(kw_only=True)
class WindowOp(Op):
    """Shared parameters of the window transformers over one `column`."""

    CHANGES_GRAIN = True
    partition_by: tuple[str, ...] = param((), convert=as_columns)
    order_by: tuple[str, ...] = param(convert=as_columns)
    column: str = param()
    target_column: str | None = param(None)

    def columns_read(self) -> tuple[str, ...]:
        return self.partition_by + self.order_by + (self.column,)

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return require_numeric(columns, self.column, self.NAME)


@attrs.frozen(kw_only=True)
class AddRunningTotal(WindowOp):
    """Add the running sum of `column` (rows from the partition start to the current row)."""

    NAME = "add_running_total"

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.target_column or f"{self.column}_running_total"),)


@attrs.frozen(kw_only=True)
class AddMovingAverage(WindowOp):
    """Add the average of `column` over the current and `window_size - 1` preceding rows."""

    NAME = "add_moving_average"
    window_size: int = param(3, aliases=("window",))

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.target_column or f"{self.column}_moving_avg_{self.window_size}", type="double"),)


@attrs.frozen(kw_only=True)
class AddLagLeadColumns(WindowOp):
    """Add `column`'s value `periods` rows before (lag) and after (lead) the current row."""

    NAME = "add_lag_lead_columns"
    periods: int = param(1, aliases=("offset",))

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        return []

    def columns_added(self, columns: Schema) -> Schema:
        source = next((c.type for c in columns if c.name == self.column), None)
        stem = self.target_column or self.column
        return (
            Column(name=f"{stem}_lag_{self.periods}", type=source),
            Column(name=f"{stem}_lead_{self.periods}", type=source),
        )


def _bucket_count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a whole number of buckets, at least 1, got {value!r}")
    return value


@attrs.frozen(kw_only=True)
class AddNtile(RankingOp):
    """Add the bucket (1 to `n`) of each row when the rows of its `partition_by` group, ordered by `order_by`,
    are dealt into `n` buckets of sizes that differ by at most one (``ntile(n)``)."""

    NAME = "add_ntile"
    n: int = param(aliases=("buckets",), convert=_bucket_count)
    target_column: str = param("ntile")

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.target_column, type="int"),)


@attrs.frozen(kw_only=True)
class AddPercentileRank(RankingOp):
    """Add each row's relative rank in its `partition_by` group ordered by `order_by`: (rank - 1) / (rows - 1),
    from 0 to 1, and 0 for a group of one row (``percent_rank()``)."""

    NAME = "add_percentile_rank"
    target_column: str = param("percentile")

    def columns_added(self, columns: Schema) -> Schema:
        return (Column(name=self.target_column, type="double"),)


WINDOW_FUNCTIONS = ("avg", "sum", "min", "max", "count", "stddev")


def _periods(value: object) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                                                for v in value):
        return tuple(dict.fromkeys(value))
    raise ValueError(f"expected a list of whole numbers of rows, at least 1, got {value!r}")


def _durations(value: object) -> tuple[str, ...]:
    """Each duration in its shortest spelling (``"7d"``, ``"12h"``; a number is days)."""
    items = value if isinstance(value, (list, tuple)) else [value]
    spelt = []
    for item in items:
        seconds = item * 86400 if isinstance(item, int) and not isinstance(item, bool) and item > 0 else \
            parse_duration(item) if isinstance(item, str) else None
        if not seconds:
            raise ValueError(f"expected durations such as \"7d\", \"12h\" or a number of days, got {item!r}")
        spelt.append(format_duration(seconds))
    return tuple(dict.fromkeys(spelt))


def _functions(value: object) -> tuple[str, ...]:
    names = as_columns(value)
    unknown = [n for n in names if n not in WINDOW_FUNCTIONS]
    if unknown:
        raise ValueError(f"unknown function `{unknown[0]}`; use one of {', '.join(WINDOW_FUNCTIONS)}")
    return names


@attrs.frozen
class WindowFeature:
    """One feature of `add_window_features`: `function` (``lag`` or one of its functions) of `source` over the
    row's past: `extent` rows (the lag's offset, or a rolling window's size) or, with `frame` ``range``, seconds."""

    column: Column
    function: str
    source: str
    frame: str
    extent: int


@attrs.frozen(kw_only=True)
class AddWindowFeatures(Op):
    """Features of each of `columns` over the row's `partition_by` history in `order_by` order, never its
    future: ``<column>_lag_<n>`` for each of `lags`; ``<column>_<function>_<n>`` over the row and the
    `rolling_windows` - 1 rows before; ``<column>_<function>_<duration>`` over the rows whose single `order_by`
    time is within each of `time_windows` before the row's (sparklec's own: what `feature_engineering` asks)."""

    NAME = "add_window_features"
    CHANGES_GRAIN = True
    partition_by: tuple[str, ...] = param((), convert=as_columns)
    order_by: tuple[str, ...] = param(convert=as_columns)
    columns: tuple[str, ...] = param(convert=as_columns)
    lags: tuple[int, ...] = param((), convert=_periods)
    rolling_windows: tuple[int, ...] = param((), convert=_periods)
    time_windows: tuple[str, ...] = param((), aliases=("aggregation_windows",), convert=_durations)
    functions: tuple[str, ...] = param(("avg",), aliases=("rolling_stats",), convert=_functions)

    def columns_read(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.partition_by, *self.order_by, *self.columns)))

    def features(self, columns: Schema) -> tuple[WindowFeature, ...]:
        """Each feature the op adds, in output order, over the input columns `columns`."""
        types = {c.name: c.type for c in columns}
        found: list[WindowFeature] = []
        for name in self.columns:
            kind = types.get(name)
            found += [WindowFeature(Column(name=f"{name}_lag_{n}", type=kind), "lag", name, "rows", n)
                      for n in self.lags]
            for function in self.functions:
                typed = value_type(f"{function}({name})", {name: kind}) if kind else None
                found += [WindowFeature(Column(name=f"{name}_{function}_{n}", type=typed), function, name, "rows", n)
                          for n in self.rolling_windows]
                found += [WindowFeature(Column(name=f"{name}_{function}_{w}", type=typed), function, name, "range",
                                        parse_duration(w) or 0) for w in self.time_windows]
        return tuple(found)

    def columns_added(self, columns: Schema) -> Schema:
        return tuple(feature.column for feature in self.features(columns))

    def type_problems(self, columns: Mapping[str, Column]) -> list[tuple[str, str]]:
        problems = []
        if self.rolling_windows or self.time_windows:
            numeric = [f for f in self.functions if f in ("avg", "sum", "stddev")]
            for name in self.columns if numeric else ():
                problems += require_numeric(columns, name, self.NAME)
        if self.time_windows:
            ordered = [columns[c] for c in self.order_by if c in columns]
            if len(self.order_by) != 1 or (ordered and ordered[0].type not in (None, "date", "timestamp")):
                problems.append((self.order_by[0], "time windows need one date or timestamp `order_by` column"))
            elif ordered and ordered[0].type == "date" and any((parse_duration(w) or 0) % 86400 for w in self.time_windows):
                problems.append((self.order_by[0], "time windows over a date are whole days"))
        return problems

