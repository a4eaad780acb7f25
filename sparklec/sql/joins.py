"""SQL for the transformers that read another relation: lookups and type-1 updates of a table."""

from __future__ import annotations

from sqlglot import exp

from sparklec.ir import transformers as tf
from sparklec.sql.ops import RELATION, Lowering, Relation, identifier, lowers

_INPUT, _OTHER, _FOUND = "__sparklec_input", "__sparklec_other", "__sparklec_found"


def other_relation(name: str, alias: str) -> exp.Table:
    """The relation `name` of the pipeline, as each target resolves it (a table, a view, a dbt reference)."""
    return exp.Table(this=identifier(RELATION.format(name)), alias=exp.TableAlias(this=identifier(alias)))


def _at(table: str, name: str) -> exp.Column:
    return exp.Column(this=identifier(name), table=identifier(table))


def _same_keys(keys: tuple[str, ...], left: str, right: str) -> exp.Expr:
    return exp.and_(*(exp.EQ(this=_at(left, k), expression=_at(right, k)) for k in keys))


@lowers(tf.PerformLookup)
def _lookup(lw: Lowering, op: tf.PerformLookup, source: Relation) -> exp.Select:
    kept: list[exp.Expr] = [_at(_INPUT, c.name) for c in source.columns] if source.columns is not None else [
        exp.Column(this=exp.Star(), table=identifier(_INPUT))]
    taken = [exp.alias_(_at(_OTHER, c), identifier(c)) for c in op.select_columns]
    return exp.select(*kept, *taken).from_(exp.Table(this=identifier(source.name), alias=exp.TableAlias(
        this=identifier(_INPUT))), copy=False).join(other_relation(op.lookup_table, _OTHER), on=_same_keys(
            op.join_columns, _INPUT, _OTHER), join_type=op.how, copy=False)


@lowers(tf.ApplyScdType1)
def _scd1(lw: Lowering, op: tf.ApplyScdType1, source: Relation) -> exp.Select:
    if source.columns is None:
        raise lw.fail(op, f"`{op.NAME}` needs the input's columns", "declare the source's columns")
    names = [c.name for c in source.columns]
    updated = set(names if op.update_columns is None else (*op.key_columns, *op.update_columns))
    found = exp.Is(this=_at(_OTHER, _FOUND), expression=exp.Null())

    def merged(name: str) -> exp.Expr:
        if name in updated:
            return exp.alias_(_at(_INPUT, name), identifier(name))
        return exp.alias_(exp.Case(ifs=[exp.If(this=found.copy(), true=_at(_INPUT, name))],
                                   default=_at(_OTHER, name)), identifier(name))

    marked = exp.select(exp.Star(), exp.alias_(exp.true(), identifier(_FOUND))).from_(
        other_relation(op.target_table, _OTHER).copy(), copy=False)
    incoming = exp.select(*(merged(n) for n in names)).from_(exp.Table(
        this=identifier(source.name), alias=exp.TableAlias(this=identifier(_INPUT))), copy=False).join(
        marked.subquery(_OTHER), on=_same_keys(op.key_columns, _INPUT, _OTHER), join_type="left", copy=False)
    replaced = exp.select(exp.true()).from_(exp.Table(this=identifier(source.name), alias=exp.TableAlias(
        this=identifier(_INPUT))), copy=False).where(_same_keys(op.key_columns, _INPUT, _OTHER), copy=False)
    kept = exp.select(*(_at(_OTHER, n) for n in names)).from_(other_relation(op.target_table, _OTHER),
                                                               copy=False).where(
        exp.Not(this=exp.Exists(this=replaced)), copy=False)
    return exp.select(exp.Star()).from_(exp.union(incoming, kept, distinct=False).subquery("updated"), copy=False)
