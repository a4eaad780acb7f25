"""The statements that keep a type-2 history (`scd_type2`) in its target table, on every dialect.

A run closes the current version of every key whose tracked columns arrive
changed (its `effective_to` becomes the new version's `effective_from`, its
`current_flag` false), then opens a version for every arriving key that has
no current one: the new keys and the changed ones.  Keys that arrive
unchanged keep their version; keys that do not arrive are left as they are.
Run twice on the same rows, the second run changes nothing.
"""

from __future__ import annotations

from sqlglot import exp

from sparklec.ir.transformers import ScdType2
from sparklec.sql.ops import column, identifier


def close_changed(history: ScdType2, tracked: tuple[str, ...], target: exp.Table, source: exp.Table | exp.Subquery
                  ) -> exp.Merge:
    """MERGE that closes the current versions whose `tracked` columns arrive with other values in `source`
    (aliased ``s``; `target` is aliased ``t``)."""
    unchanged = exp.and_(*(exp.NullSafeEQ(this=_column(c, "t"), expression=_column(c, "s")) for c in tracked))
    update = exp.Update(expressions=[
        exp.EQ(this=column(history.effective_to), expression=_column(history.effective_from, "s")),
        exp.EQ(this=column(history.current_flag), expression=exp.false())])
    when = exp.When(matched=True, source=False, condition=exp.not_(unchanged), then=update)
    return exp.Merge(this=aliased(target, "t"), using=aliased(source, "s"), on=_current_of(history, "t", "s"),
                     whens=exp.Whens(expressions=[when]))


def open_versions(history: ScdType2, target: exp.Table, source: exp.Table | exp.Subquery, by_name: bool) -> exp.Insert:
    """INSERT of the arriving rows whose key has no current version in `target` (by column name on DuckDB)."""
    current = exp.select(exp.Literal.number(1)).from_(aliased(target, "t")).where(_current_of(history, "t", "s"))
    rows = exp.select(exp.Star()).from_(aliased(source, "s")).where(exp.not_(exp.Exists(this=current)))
    return exp.Insert(this=target.copy(), expression=rows, by_name=by_name)


def _current_of(history: ScdType2, target: str, source: str) -> exp.Expr:
    """The condition that the `target` row is the current version of the `source` row's key."""
    same_key = (exp.EQ(this=_column(k, target), expression=_column(k, source)) for k in history.business_key)
    return exp.and_(*same_key, _column(history.current_flag, target))


def _column(name: str, table: str) -> exp.Column:
    return exp.Column(this=identifier(name), table=identifier(table))


def aliased(relation: exp.Table | exp.Subquery, alias: str) -> exp.Table | exp.Subquery:
    """A copy of `relation` under `alias`."""
    named = relation.copy()
    named.set("alias", exp.TableAlias(this=identifier(alias)))
    return named
