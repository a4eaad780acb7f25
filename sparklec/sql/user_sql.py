"""User SQL — filter conditions, measures, custom SQL — parsed and checked, never pasted."""

from __future__ import annotations

import re

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
        raise LoweringError([Diagnostic(
            code="E403", message=f"{what} is not valid SQL: {syntax_error(error, text)}", span=span,
            help=f"the SQL is: {in_user_words(text)}",
        )]) from None
    if len(trees) != 1 or trees[0] is None:
        raise LoweringError([Diagnostic(
            code="E403", message=f"{what} must be exactly one SQL expression or query", span=span,
            help="remove the `;` and anything after it",
        )])
    return trees[0]


_PLACEHOLDER = re.compile(r"__sparklec_relation_(\w+?)__|__sparklec_input__")
_EXPECTED = re.compile(r"Expect(?:ed|ing) (?P<what>.+?)(?: but got <Token .*)?$")


def in_user_words(text: str) -> str:
    """`text` with the relations sparklec named by placeholders written as the user wrote them (``{{ name }}``)."""
    return _PLACEHOLDER.sub(lambda m: "{{ " + (m.group(1) or "input") + " }}", text)


def syntax_error(error: ParseError | TokenError, text: str) -> str:
    """What is wrong with the SQL `text` and where, in the words of someone who wrote it (not sqlglot's)."""
    first = (getattr(error, "errors", None) or [{}])[0]
    if not first:
        return "a string or quoted name is not closed, or a character cannot start a token"
    near = in_user_words(str(first.get("highlight", "")))
    description = str(first.get("description", ""))
    expected = _EXPECTED.match(description)
    if expected:
        thing = expected["what"].strip()
        problem = f"expected `{thing}`" if len(thing) <= 2 else f"expected {thing}"
    elif "missing" in description:
        problem = "something is missing"
    else:
        problem = "unexpected text"
    line, column = first.get("line", 1), first.get("col", 1)
    where = f"line {line}, column {column}" if "\n" in text else f"column {column}"
    return f"{problem} at `{near}` ({where} of the SQL)" if near else f"{problem} ({where} of the SQL)"
