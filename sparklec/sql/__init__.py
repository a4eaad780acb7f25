"""SQL lowering shared by every backend: transformer chains as sqlglot queries in any dialect.

`chain_steps` turns a transformer chain into one SELECT per op, each reading
the one before; `with_ctes` folds such steps into one query with a CTE per
step.  User SQL is parsed and checked (`sparklec.sql.user_sql`), and every
dialect's gaps are known (`sparklec.sql.dialects`), so a chain either
becomes valid SQL for the target or a positioned error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
from sqlglot import exp

from sparklec.ir.pipeline import CustomTransformer
from sparklec.ir.transformers import Aggregate, CustomOp, Op, Schema
from sparklec.sql.dialects import DEFAULT_DIALECT, DIALECTS, Dialect
from sparklec.sql import joins, nested, windows  # noqa: F401  (their lowerings register themselves)
from sparklec.sql.ops import Lowering, Relation, identifier, missing_lowerings


@attrs.frozen
class Step:
    """One op's SELECT, named so that the next step can read it."""

    name: str
    query: exp.Select
    columns: Schema | None


def chain_steps(
    source: Relation, ops: Sequence[Op], dialect: Dialect, custom: Mapping[str, CustomTransformer] = {},
    runtime_columns: bool = False, prefix: str = "",
) -> list[Step]:
    """One step per op; step i reads step i-1 (the first reads `source`), and is named
    ``<prefix>step_<i>_<op>``.

    With `runtime_columns`, ops over "every string column" of an input whose
    columns are not known are written to look them up when the query runs.
    """
    lowering = Lowering(dialect, custom, runtime_columns)
    steps: list[Step] = []
    current = source
    for index, op in enumerate(ops, start=1):
        query = lowering.op(op, current)
        name = f"{prefix}step_{index}_{op.NAME if op.NAME != 'custom' else getattr(op, 'transformer', 'custom')}"
        current = after(op, current, name)
        steps.append(Step(name=name, query=query, columns=current.columns))
    return steps


def after(op: Op, relation: Relation, name: str) -> Relation:
    """The relation `op` makes of `relation`, named `name`."""
    if relation.columns is not None:
        return Relation(name=name, columns=op.output_columns(relation.columns))
    if isinstance(op, Aggregate):
        return Relation(name=name, columns=op.output_columns(()))
    if relation.opaque or isinstance(op, CustomOp):
        return Relation(name=name, opaque=True)
    removed = set(op.columns_removed())
    added = tuple(c for c in relation.added if c.name not in removed) + op.columns_added(())
    return Relation(name=name, removed=(*relation.removed, *removed), added=added)


def with_ctes(source_name: str, steps: Sequence[Step]) -> exp.Select:
    """``WITH step_1 AS (...), ... SELECT * FROM last`` (just the source when there are no steps)."""
    last = steps[-1].name if steps else source_name
    query = exp.select(exp.Star()).from_(identifier(last), copy=False)
    for step in steps:
        query = query.with_(identifier(step.name), as_=step.query, copy=False)
    return query


assert not missing_lowerings(), f"transformers without a SQL lowering: {missing_lowerings()}"

__all__ = ["DEFAULT_DIALECT", "DIALECTS", "Dialect", "Relation", "Step", "chain_steps", "with_ctes"]
