"""Quality checks as SQL: the query that returns a check's failing rows, for any backend."""

from __future__ import annotations

from sqlglot import exp

from sparklec.ir import tasks as t
from sparklec.sql.ops import EMAIL_PATTERN, column, literal


def failing_rows(check: t.AnyCheck, table: exp.Table | exp.Subquery) -> exp.Select:
    """The rows of `table` that fail `check` (for row counts, the count when it is out of bounds).

    Custom SQL checks are the backend's to resolve: their relations are
    named in the backend's own way.
    """
    if isinstance(check, t.NotNull):
        return exp.select(exp.Star()).from_(table).where(
            exp.or_(*(exp.Is(this=column(c), expression=exp.Null()) for c in check.column_names)))
    if isinstance(check, t.Unique):
        keys = [column(c) for c in check.column_names]
        return exp.select(*keys, exp.alias_(exp.Count(this=exp.Star()), "rows_per_key")).from_(table).group_by(
            *(k.copy() for k in keys)).having(exp.GT(this=exp.Count(this=exp.Star()), expression=literal(1)))
    if isinstance(check, (t.MatchesRegex, t.EmailFormat)):
        pattern = check.pattern if isinstance(check, t.MatchesRegex) else EMAIL_PATTERN
        value = column(check.column)
        matches = exp.RegexpLike(this=value, expression=literal(pattern))
        return exp.select(exp.Star()).from_(table).where(exp.and_(
            exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())), exp.Not(this=exp.Paren(this=matches))))
    if isinstance(check, t.AcceptedValues):
        return exp.select(exp.Star()).from_(table).where(exp.Not(this=exp.In(
            this=column(check.column), expressions=[literal(v) for v in check.values])))
    if isinstance(check, t.RowCount):
        count = exp.alias_(exp.Count(this=exp.Star()), "row_count")
        bounds = [exp.LT(this=exp.column("row_count"), expression=literal(check.minimum))
                  if check.minimum is not None else None,
                  exp.GT(this=exp.column("row_count"), expression=literal(check.maximum))
                  if check.maximum is not None else None]
        return exp.select(exp.Star()).from_(exp.select(count).from_(table).subquery("counted")).where(
            exp.or_(*(b for b in bounds if b is not None)))
    if isinstance(check, t.Freshness):
        newest = exp.alias_(exp.Max(this=column(check.column)), "newest")
        oldest_allowed = exp.Sub(this=exp.CurrentTimestamp(), expression=exp.Interval(
            this=exp.Literal.string(str(check.max_age)), unit=exp.var("SECOND")))
        return exp.select(exp.Star()).from_(exp.select(newest).from_(table).subquery("latest")).where(exp.or_(
            exp.Is(this=exp.column("newest"), expression=exp.Null()),
            exp.LT(this=exp.column("newest"), expression=oldest_allowed)))
    raise TypeError(f"{type(check).__name__} has no shared SQL")
