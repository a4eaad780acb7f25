"""What a user's SQL expression reads and makes, for the column flow: the columns it names and the type of
its value.  An expression that does not parse names nothing here; generating its SQL reports it."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

READ_DIALECT = "databricks"
"""User SQL is Spark SQL, as in Sparkle configs."""


@lru_cache(maxsize=4096)
def _parsed(text: str) -> exp.Expr | None:
    try:
        return sqlglot.parse_one(text, read=READ_DIALECT)
    except (ParseError, TokenError):
        return None


def selected_names(query: str) -> tuple[str, ...] | None:
    """The names of the columns a query returns, when its outermost SELECT names each one (no ``*``, no
    unnamed expression); a set operation's come from its first SELECT."""
    tree = _parsed(query)
    while isinstance(tree, exp.SetOperation):
        tree = tree.this
    if not isinstance(tree, exp.Select):
        return None
    names = []
    for item in tree.selects:
        if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
            return None
        if not isinstance(item, (exp.Alias, exp.Column)) or not item.alias_or_name:
            return None
        names.append(item.alias_or_name)
    return tuple(names) if len(set(names)) == len(names) else None


def columns_named(text: str) -> tuple[str, ...]:
    """The columns `text` names, in order (not a lambda's parameters, not qualified ones)."""
    tree = _parsed(text)
    if tree is None:
        return ()
    parameters = {p.name for function in tree.find_all(exp.Lambda) for p in function.expressions}
    return tuple(dict.fromkeys(c.name for c in tree.find_all(exp.Column)
                               if not c.table and c.name and c.name not in parameters))


def value_type(text: str, types: Mapping[str, str]) -> str | None:
    """The type of `text`'s value over columns of the given `types` (None when it cannot be told)."""
    return _value_type(text, tuple(sorted(types.items())))


@lru_cache(maxsize=4096)
def _value_type(text: str, types: tuple[tuple[str, str], ...]) -> str | None:
    tree = _parsed(text)
    if tree is None or not set(columns_named(text)) <= {name for name, _ in types}:
        return None
    schema: dict[str, object] = {"input": dict(types)}
    try:
        query = qualify(exp.select(exp.alias_(tree.copy(), "value")).from_("input"), schema=schema,
                        dialect=READ_DIALECT)
        found = annotate_types(query, schema=schema, dialect=READ_DIALECT).selects[0].type
    except SqlglotError:
        return None
    if found is None or found.this in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL):
        return None
    return found.sql(READ_DIALECT).lower().replace(" ", "")
