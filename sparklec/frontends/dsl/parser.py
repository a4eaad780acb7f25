"""Parsing `.spk` text into a lark tree, with syntax errors that teach.

Errors are classified with lark's `match_examples` against small broken
snippets (a missing `=`, a chain without `from`, a missing comma, ...);
an unknown keyword gets a "did you mean", an unclosed `{` is pointed at
where it was opened, an unterminated string where it starts.
"""

from __future__ import annotations

import json
import re
from contextvars import ContextVar
from functools import cache

import lark

from sparklec.grammar import lalr_parser
from sparklec.diagnostics import Diagnostic, FrontendError, Span, did_you_mean
from sparklec.frontends.dsl.comments import Comment
from sparklec.frontends.dsl.steps import OPTIONS
from sparklec.frontends.limits import MAX_DEPTH, MAX_STRING, check_number, check_text, limit_error, too_deep

_LABELS: dict[tuple[str, str, str], list[str]] = {
    ("E124", "expected `=` after the task name", "write `task NAME = KIND ...`, e.g. `task load = wait 5m`"): [
        "pipeline p { task a wait 1s }",
        "pipeline p { task a from x }",
    ],
    ("E125", "a transformer chain starts with `from`", "write `task NAME = from RELATION | transformer | ...`"): [
        "pipeline p { task a = raw | x }",
        "pipeline p { task a = raw }",
    ],
    ("E126", "a transformer name must follow `|`", "remove the trailing `|` or name the next transformer"): [
        "pipeline p { task a = from raw | }",
        "pipeline p { task a = from raw | task b = wait 1s }",
    ],
    ("E127", "a `,` is missing between the items", "separate list, map and argument items with commas"): [
        "pipeline p { tags [a b] }",
        "pipeline p { tags [a, b c] }",
        'pipeline p { tags { a: "x" b: "y" } }',
        'pipeline p { tags { a: "x", b: "y" c: "z" } }',
        "pipeline p { task a = from raw | x(a: 1 b: 2) }",
        "pipeline p { task a = from raw | x(a: 1, b: 2 c: 3) }",
    ],
    ("E128", "a `:` must follow the key", "write `key: value`"): [
        'pipeline p { tags { a "x" } }',
        "pipeline p { task a = from raw | x(a 1) }",
        "pipeline p { param x int }",
    ],
    ("E129", "a `{` is missing", "open the block with `{`"): [
        "pipeline p env dev }",
        "pipeline p { defaults timeout 1h } }",
        "pipeline p { exposure e type dashboard } }",
    ],
    ("E130", "a `)` is missing", "close the argument list with `)`"): [
        "pipeline p { task a = from raw | x(a: 1 }",
    ],
    ("E131", "a `]` is missing", "close the list with `]`"): [
        "pipeline p { tags [a, b }",
    ],
    ("E132", "a value is missing", "give a string, number, name, list or map"): [
        "pipeline p { tags { a: } }",
        "pipeline p { param x: int = }",
        "pipeline p { task a = from raw | x(a: ) }",
    ],
    ("E133", "a name is missing", "names are letters, digits and `_`; write `other names` in backticks"): [
        "pipeline { }",
        "pipeline p { task = wait 1s }",
        'pipeline p { task 1 = wait 1s }',
    ],
    ("E134", "a group needs a name: `as NAME`", "write e.g. `foreach p in partitions as per_partition {`"): [
        "pipeline p { foreach x in [1] { } }",
        "pipeline p { foreach x in [1, 2] { } }",
        "pipeline p { foreach x in xs { } }",
        "pipeline p { if x == 1 { } }",
        "pipeline p { if x == 1 and y is set { } }",
    ],
    ("E135", "a duration is expected", "write a number with a unit: 30s, 10m, 1h or 2d"): [
        "pipeline p { task a = wait 5 }",
        "pipeline p { defaults { timeout 60 } }",
        "pipeline p { defaults { retry 3 every 60 } }",
    ],
}


class _Lexed:
    """What the lexer callbacks gather while one text is parsed: its comments and how deep it nests."""

    def __init__(self, file: str):
        self.file = file
        self.comments: list[lark.Token] = []
        self.opened: list[lark.Token] = []
        """The brackets open where the lexer is, innermost last."""

    def span(self, token: lark.Token) -> Span:
        return Span.point(self.file, token.line or 1, token.column or 1, max(1, min(len(token), 80)))


_LEXED: ContextVar[_Lexed] = ContextVar("lexed")


def _check_line_lengths(text: str, file: str) -> None:
    """E142 for a line longer than a string may be."""
    lengths = [len(line) for line in text.split("\n")]
    if max(lengths) > MAX_STRING:
        line = next(number for number, length in enumerate(lengths, start=1) if length > MAX_STRING)
        raise limit_error("E142", f"line {line} is over {MAX_STRING:,} characters long", Span.point(file, line, 1))


def _comment(token: lark.Token) -> lark.Token:
    _LEXED.get().comments.append(token)
    return token


def _open(token: lark.Token) -> lark.Token:
    lexed = _LEXED.get()
    lexed.opened.append(token)
    if len(lexed.opened) > MAX_DEPTH:
        raise too_deep(lexed.span(token))
    return token


_OPENER = {"RPAR": "LPAR", "RSQB": "LSQB", "RBRACE": "LBRACE"}


def _close(token: lark.Token) -> lark.Token:
    opened = _LEXED.get().opened
    if opened and opened[-1].type == _OPENER[token.type]:  # a closer of another bracket is a syntax error
        opened.pop()
    return token


def _text(token: lark.Token) -> lark.Token:
    raw = str(token)
    if len(raw) <= MAX_STRING + 6:  # a longer one is too long whatever its escapes
        raw = raw[3:-3] if raw.startswith('"""') else raw[1:-1] if raw.startswith("`") else \
            str(json.loads(raw, strict=False)) if raw.startswith('"') else raw
    check_text(raw, _LEXED.get().span(token))
    return token


def _number(token: lark.Token) -> lark.Token:
    check_number(str(token), _LEXED.get().span(token))
    return token


@cache
def _parser() -> lark.Lark:
    callbacks = {"COMMENT": _comment, "LBRACE": _open, "LPAR": _open, "LSQB": _open, "RBRACE": _close,
                 "RPAR": _close, "RSQB": _close, "NUMBER": _number,
                 **dict.fromkeys(("STRING", "LONG_STRING", "QUOTED_NAME", "NAME"), _text)}
    return lalr_parser("pipeline", propagate_positions=True, maybe_placeholders=True, lexer_callbacks=callbacks)


def parse_tree(text: str, file: str) -> tuple[lark.Tree[lark.Token], list[Comment]]:
    """The syntax tree of `text` and its comments.

    A syntax error, or input over a limit of `sparklec.frontends.limits`, raises `FrontendError` with one
    diagnostic.
    """
    if len(text) > MAX_STRING:  # before the lexer, whose string pattern takes memory for every character
        _check_line_lengths(text, file)
    lexed = _Lexed(file)
    reset = _LEXED.set(lexed)
    try:
        tree = _parser().parse(text)
    except lark.UnexpectedInput as error:
        raise FrontendError([_diagnose(error, text, file, lexed.opened)]) from None
    finally:
        _LEXED.reset(reset)
    lines = text.splitlines()
    return tree, [Comment(token.line or 0, str(token).rstrip(), lines[(token.line or 1) - 1][: (token.column or 1) - 1]
                          .strip()) for token in lexed.comments]


_CLOSERS = {"LPAR": ("RPAR", ")"), "LSQB": ("RSQB", "]")}


def _diagnose(error: lark.UnexpectedInput, text: str, file: str, opened: list[lark.Token]) -> Diagnostic:
    line, column = error.line, error.column
    if isinstance(error, lark.UnexpectedCharacters):
        char = text[error.pos_in_stream] if error.pos_in_stream is not None and error.pos_in_stream < len(text) else ""
        span = Span.point(file, line, column)
        if char == '"':
            return Diagnostic(code="E123", message="unterminated string", span=span,
                              help='close it with `"` on the same line; use """...""" for text over several lines')
        if char == "`":
            return Diagnostic(code="E123", message="unterminated quoted name", span=span,
                              help="close it with a backtick on the same line")
        return Diagnostic(code="E120", message=f"unexpected character {char!r}", span=span, help=_hint(char))
    assert isinstance(error, lark.UnexpectedToken)
    token = error.token
    if token.type == "$END":
        brace = _unclosed_brace(text)
        if brace is not None:
            return Diagnostic(code="E121", message="this `{` is never closed", span=Span.point(file, *brace),
                              help="add the matching `}`")
        return Diagnostic(code="E120", message="the file ends too early", span=Span.at_end(file, text),
                          help=_expected(error))
    span = Span.point(file, line, column, max(1, len(str(token))))
    keywords = _keywords(error.expected)
    suggestion = did_you_mean(str(token), keywords) if token.type in ("NAME", "QUOTED_NAME") else None
    if suggestion:
        return Diagnostic(code="E122", message=f"unknown keyword `{token}`", span=span, help=suggestion)
    setting = _unknown_setting(error, text)
    if setting is not None:
        word, offset = setting
        line_start = text.rfind("\n", 0, offset) + 1
        return Diagnostic(code="E122", message=f"unknown keyword `{word}`",
                          span=Span.point(file, text.count("\n", 0, offset) + 1, offset - line_start + 1, len(word)),
                          help=did_you_mean(word, _SETTINGS) or "check the spelling of the setting")
    unclosed = _unclosed_bracket(error, opened, span)
    if unclosed is not None:
        return unclosed
    label = error.match_examples(_parser().parse, _examples(), use_accepts=True)
    if label is not None:
        code, message, help_text = label
        return Diagnostic(code=code, message=message, span=span, help=help_text)
    if token.type in ("NAME", "QUOTED_NAME") and keywords:
        return Diagnostic(code="E122", message=f"unknown keyword `{token}`", span=span, help=_expected(error))
    if token.type == "RBRACE" and _unbalanced_close(text, error.pos_in_stream or 0):
        return Diagnostic(code="E121", message="this `}` closes nothing", span=span, help="remove it")
    return Diagnostic(code="E120", message=f"unexpected `{token}`", span=span, help=_expected(error))


def _unclosed_bracket(error: lark.UnexpectedToken, opened: list[lark.Token], span: Span) -> Diagnostic | None:
    """A `(` or `[` left open: the parser wanted its closer where the unexpected token is."""
    inner = [o for o in opened if o is not error.token]
    if not inner or inner[-1].type not in _CLOSERS:
        return None
    closer, symbol = _CLOSERS[inner[-1].type]
    if closer not in error.expected:
        return None
    bracket = inner[-1]
    return Diagnostic(code="E121", message=f"missing `{symbol}`: the `{bracket}` on line {bracket.line}, column "
                      f"{bracket.column} is not closed before `{error.token}`",
                      span=span, help=f"add `{symbol}` to close it")


@cache
def _examples() -> dict[tuple[str, str, str], list[str]]:
    """The labelled examples, each also after another pipeline item.

    lark compares parser states with their stack depth, and the depth at a
    statement differs between the first statement of a block and later ones.
    """
    return {label: [v for e in examples for v in (e, e.replace("{", "{ env dev ", 1))]
            for label, examples in _LABELS.items()}


_SETTINGS = tuple(sorted({
    *(option for options in OPTIONS.values() for option in options), "after", "description", "retry",
    "timeout", "runtime", "resources", "limits", "input", "output", "sql", "example",
}))


def _unknown_setting(error: lark.UnexpectedToken, text: str) -> tuple[str, int] | None:
    """A misspelt setting in a task body parses as the start of a check call: `mesage "hi"`.

    Returns the word and its offset when the error is right after such a word.
    """
    if "LPAR" not in error.expected or error.pos_in_stream is None:
        return None
    before = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", text[: error.pos_in_stream])
    if before is None or before.group(1) in _SETTINGS:
        return None
    return before.group(1), before.start(1)


def _keywords(expected: set[str]) -> list[str]:
    """The keywords among the terminal names lark expected."""
    words = []
    for terminal in _parser().terminals:
        if terminal.name in expected and re.fullmatch(r"[a-z_0-9]+", str(terminal.pattern.value)):
            words.append(str(terminal.pattern.value))
    return sorted(words)


def _expected(error: lark.UnexpectedInput) -> str:
    names = _keywords(getattr(error, "expected", set()) or set())
    symbols = {"RBRACE": "`}`", "LBRACE": "`{`", "RPAR": "`)`", "RSQB": "`]`", "EQUAL": "`=`", "NAME": "a name", "STRING": "a string",
               "NUMBER": "a number", "DURATION": "a duration", "LSQB": "`[`", "COMMA": "`,`", "COLON": "`:`"}
    others = sorted(symbols[t] for t in getattr(error, "expected", set()) or set() if t in symbols)
    listed = [f"`{n}`" for n in names[:12]] + others
    return "expected " + ", ".join(listed) if listed else "check the syntax near here"


def _hint(char: str) -> str | None:
    return {
        ";": "statements need no `;`",
        "'": 'strings use double quotes: "text"',
        "@": "names are letters, digits and `_`",
    }.get(char)


def _scan_braces(text: str) -> tuple[list[tuple[int, int]], list[int]]:
    """Positions of unclosed `{` (line, column) and offsets of `}` that close nothing."""
    stack: list[tuple[int, int]] = []
    extra: list[int] = []
    line, column, index = 1, 1, 0
    in_string, in_comment = "", False
    while index < len(text):
        char = text[index]
        if in_comment:
            in_comment = char != "\n"
        elif in_string:
            if in_string == '"""' and text.startswith('"""', index):
                in_string, index, column = "", index + 2, column + 2
            elif in_string == '"' and char == "\\":
                index, column = index + 1, column + 1
            elif in_string == '"' and char in '"\n':
                in_string = ""
        elif char == "#":
            in_comment = True
        elif text.startswith('"""', index):
            in_string, index, column = '"""', index + 2, column + 2
        elif char == '"':
            in_string = '"'
        elif char == "{":
            stack.append((line, column))
        elif char == "}":
            if stack:
                stack.pop()
            else:
                extra.append(index)
        if char == "\n":
            line, column = line + 1, 1
        else:
            column += 1
        index += 1
    return stack, extra


def _unclosed_brace(text: str) -> tuple[int, int] | None:
    stack, _ = _scan_braces(text)
    return stack[-1] if stack else None


def _unbalanced_close(text: str, offset: int) -> bool:
    return offset in _scan_braces(text)[1]

