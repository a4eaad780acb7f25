"""SQL for the transformers of nested values: JSON text, arrays and structs, in each dialect's own terms."""

from __future__ import annotations

import sqlglot
from sqlglot import exp, jsonpath

from sparklec.ir import transformers as tf
from sparklec.sql.ops import Lowering, Relation, as_macro, column, identifier, lowers

_EXPLODED, _ITEM, _POSITION = "__sparklec_exploded", "__sparklec_item", "__sparklec_position"
_SOURCE, _ARRAY = "__sparklec_source", "__sparklec_array"

_EXPLODE = {
    "spark": (f"SELECT {_EXPLODED}.{_POSITION} AS p, {_EXPLODED}.{_ITEM} AS i FROM {_SOURCE} "
              f"LATERAL VIEW OUTER POSEXPLODE({_SOURCE}.{_ARRAY}) {_EXPLODED} AS {_POSITION}, {_ITEM}"),
    "trino": (f"SELECT {_EXPLODED}.{_POSITION} - 1 AS p, {_EXPLODED}.{_ITEM} AS i FROM {_SOURCE} "
              f"LEFT JOIN UNNEST({_SOURCE}.{_ARRAY}) WITH ORDINALITY AS {_EXPLODED}({_ITEM}, {_POSITION}) ON TRUE"),
    "bigquery": (f"SELECT {_POSITION} AS p, {_ITEM} AS i FROM {_SOURCE} "
                 f"LEFT JOIN UNNEST({_SOURCE}.{_ARRAY}) AS {_ITEM} WITH OFFSET AS {_POSITION}"),
    "snowflake": (f"SELECT {_EXPLODED}.index AS p, {_EXPLODED}.value AS i FROM {_SOURCE}, "
                  f"LATERAL FLATTEN(input => {_SOURCE}.{_ARRAY}, outer => TRUE) AS {_EXPLODED}"),
}
"""How each family of dialects writes "every row once per element, with its position from 0, and once with NULLs
when its array is NULL or empty"; `p` and `i` are the position and the element."""
_EXPLODE_FAMILY = {"spark": "spark", "databricks": "spark", "duckdb": "trino", "trino": "trino", "athena": "trino",
                   "bigquery": "bigquery", "snowflake": "snowflake"}


def json_value(lw: Lowering, json_column: str, path: str) -> exp.Expr:
    """The text at `path` in the JSON text `json_column`, NULL where the text is not JSON."""
    value = exp.JSONExtractScalar(this=column(json_column), expression=jsonpath.parse(path))
    if lw.dialect.name != "duckdb":  # the others read malformed text as NULL; DuckDB raises
        return as_macro(value, "json_value", json=column(json_column), path=path)
    valid = exp.Anonymous(this="json_valid", expressions=[column(json_column)])
    return exp.Case(ifs=[exp.If(this=valid, true=value)])


@lowers(tf.ExtractJsonField)
def _extract(lw: Lowering, op: tf.ExtractJsonField, source: Relation) -> exp.Select:
    return lw.project(op, source, add=[(op.target_column, json_value(lw, op.json_column, op.json_path))])


@lowers(tf.ParseJsonColumn)
def _parse(lw: Lowering, op: tf.ParseJsonColumn, source: Relation) -> exp.Select:
    fields = [(field.name, exp.TryCast(this=json_value(lw, op.json_column, f"$.{field.name}"),
                                       to=exp.DataType.build(field.type or "string", dialect="databricks")))
              for field in op.schema]
    return lw.project(op, source, add=fields, drop=op.columns_removed())


@lowers(tf.ExplodeArrayColumn)
def _explode(lw: Lowering, op: tf.ExplodeArrayColumn, source: Relation) -> exp.Select:
    family = _EXPLODE_FAMILY.get(lw.dialect.name)
    if family is None:
        raise lw.fail(op, f"`{op.NAME}` has no SQL for {lw.dialect.name}")
    template = sqlglot.parse_one(_EXPLODE[family], read=family)
    assert isinstance(template, exp.Select)
    for name in template.find_all(exp.Identifier):
        if name.this == _SOURCE:
            name.replace(identifier(source.name))
        elif name.this == _ARRAY:
            name.replace(identifier(op.array_column))
    position, item = (e.this for e in template.selects)
    added = [(f"{op.item_column}_position", position)] if op.keep_position else []
    query = lw.project(op, source, add=[*added, (op.item_column, item)], drop=(op.array_column,))
    for star in query.expressions:
        if isinstance(star, exp.Star):  # the source's columns, not the element's too
            star.replace(exp.Column(this=star.copy(), table=identifier(source.name)))
    for part in ("joins", "laterals"):
        for joined in template.args.get(part) or ():
            query.append(part, joined)
    for lateral in query.args.get("laterals") or ():
        as_macro(lateral, "explode_outer", array=exp.Column(this=identifier(op.array_column),
                                                             table=identifier(source.name)))
    return query


@lowers(tf.FlattenStructColumn)
def _flatten(lw: Lowering, op: tf.FlattenStructColumn, source: Relation) -> exp.Select:
    if source.columns is None:
        raise lw.fail(op, f"`{op.NAME}` needs the struct's fields", "declare the source's columns")
    fields = [(c.name, exp.Column(this=identifier(field), table=identifier(op.struct_column),
                                  db=identifier(source.name)))
              for c, (field, _) in zip(op.columns_added(source.columns), op.fields(source.columns), strict=True)]
    return lw.project(op, source, add=fields, drop=op.columns_removed())


@lowers(tf.DeduplicateArrayColumn)
def _deduplicate(lw: Lowering, op: tf.DeduplicateArrayColumn, source: Relation) -> exp.Select:
    values = column(op.column)
    kept: exp.Expr
    match lw.dialect.name:
        case "duckdb":  # its LIST_DISTINCT loses the order and the NULL
            first = exp.EQ(this=exp.ArrayPosition(this=values.copy(), expression=column("x")), expression=column("i"))
            kept = exp.Anonymous(this="list_filter", expressions=[
                values, exp.Lambda(this=first, expressions=[identifier("x"), identifier("i")])])
        case "bigquery":
            raise lw.fail(op, f"`{op.NAME}` has no SQL for {lw.dialect.name}")
        case _:  # every other keeps each element's first position (sqlglot's ARRAY_DISTINCT does not everywhere)
            kept = as_macro(exp.Anonymous(this="ARRAY_DISTINCT", expressions=[values]), "array_distinct",
                            value=values.copy())
    return lw.project(op, source, replace={op.column: kept})


@lowers(tf.RemoveEmptyArrays)
def _remove_empty(lw: Lowering, op: tf.RemoveEmptyArrays, source: Relation) -> exp.Select:
    size = as_macro(exp.ArraySize(this=column(op.column)), "array_size", value=column(op.column))
    empty = exp.EQ(this=size, expression=exp.Literal.number(0))
    return lw.project(op, source, replace={op.column: exp.Case(ifs=[exp.If(this=empty, true=exp.Null())],
                                                               default=column(op.column))})
