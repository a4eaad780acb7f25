"""User SQL — filter conditions, measures, custom SQL — parsed and checked, never pasted."""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot import Token, TokenType

from sparklec.diagnostics import Diagnostic, LoweringError, Span

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


MAX_SQL_NESTING = 100
"""The most levels user SQL nests (parentheses, brackets, CASE): printing SQL costs the square of its depth."""
_OPENING = {TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE, TokenType.CASE}
_CLOSING = {TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE, TokenType.END}


def _parse(text: str, what: str, span: Span | None) -> exp.Expr:
    dialect = Dialect.get_or_raise(READ_DIALECT)
    try:
        tokens = dialect.tokenize(text)
        _check_nesting(tokens, what, span)
        trees = dialect.parser().parse(tokens, text)
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


def _check_nesting(tokens: list[Token], what: str, span: Span | None) -> None:
    depth = 0
    for token in tokens:
        depth += (token.token_type in _OPENING) - (token.token_type in _CLOSING)
        if depth > MAX_SQL_NESTING:
            raise LoweringError([Diagnostic(
                code="E145", message=f"{what} nests more than {MAX_SQL_NESTING} levels deep", span=span,
                help=f"SQL nests at most {MAX_SQL_NESTING} levels of parentheses, brackets and CASE; "
                     "name a part as a column of an earlier step",
            )])


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
