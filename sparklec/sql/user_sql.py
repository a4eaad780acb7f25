"""User SQL — filter conditions, measures, custom SQL — parsed and checked, never pasted."""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from sparklec.compiler.diagnostics import Diagnostic, LoweringError, Span

READ_DIALECT = "databricks"
"""User SQL is written in Spark SQL, as in Sparkle configs; it is transpiled to the target."""
USER_SQL = "sparklec_user_sql"
"""The `meta` flag on the root of every parsed piece of user SQL."""


def parse_expression(text: str, what: str, span: Span | None) -> exp.Expr:
    """One SQL expression (a condition, a measure, a custom column)."""
    tree = _parse(text, what, span)
    if isinstance(tree, (exp.Select, exp.Union, exp.Insert, exp.Delete, exp.Update, exp.Create, exp.Drop, exp.Command)):
        raise LoweringError([Diagnostic(
            code="E403", message=f"{what} must be an expression, not a statement: {text!r}", span=span,
            help="write only the expression, e.g. `amount > 0`",
        )])
    tree.meta[USER_SQL] = True
    return tree


def parse_query(text: str, what: str, span: Span | None) -> exp.Query:
    """A SELECT (or WITH ... SELECT, or a set operation)."""
    tree = _parse(text, what, span)
    if not isinstance(tree, exp.Query):
        raise LoweringError([Diagnostic(
            code="E403", message=f"{what} must be a SELECT query: {text!r}", span=span,
            help="start it with SELECT or WITH",
        )])
    tree.meta[USER_SQL] = True
    return tree


def _parse(text: str, what: str, span: Span | None) -> exp.Expr:
    try:
        trees = sqlglot.parse(text, read=READ_DIALECT)
    except (ParseError, TokenError) as error:
        detail = _first_error(error)
        raise LoweringError([Diagnostic(
            code="E403", message=f"{what} is not valid SQL: {detail}", span=span,
            help=f"the SQL was: {text}",
        )]) from None
    if len(trees) != 1 or trees[0] is None:
        raise LoweringError([Diagnostic(
            code="E403", message=f"{what} must be exactly one SQL expression or query", span=span,
            help="remove the `;` and anything after it",
        )])
    return trees[0]


def _first_error(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if errors:
        first = errors[0]
        return f"{first.get('description', 'syntax error')} near `{first.get('highlight', '')}`"
    return str(error).splitlines()[0]
