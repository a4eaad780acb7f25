"""JSON and YAML documents read into values that remember where they came from.

`load_document` returns a `Located` tree: mappings keep each key's span,
every value keeps its own.  Syntax errors and duplicate keys become
diagnostics with the exact line and column.
"""

from __future__ import annotations

import bisect
import datetime
import json
import re
from functools import cache
from typing import Any

import attrs
import lark
import yaml

from sparklec.grammar import lalr_parser
from sparklec.diagnostics import Diagnostic, FrontendError
from sparklec.diagnostics import Span
from sparklec.frontends.limits import MAX_ALIAS_VALUES, MAX_DEPTH, check_number, check_text, limit_error, too_deep


@attrs.frozen
class Located:
    """A JSON/YAML value with its span; a mapping's value is ``{key: (key span, Located)}``."""

    value: Any
    span: Span

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    def plain(self) -> Any:
        """The value with every position stripped."""
        if isinstance(self.value, dict):
            return {key: node.plain() for key, (_, node) in self.value.items()}
        if isinstance(self.value, list):
            return [item.plain() for item in self.value]
        return self.value


def load_document(text: str, file: str) -> Located:
    """Parse `text` as JSON (``.json``) or YAML (anything else), within the limits of
    `sparklec.frontends.limits` (E141–E144)."""
    if file.endswith(".json"):
        _check_json_depth(text, file)
        document = _parse_json(text, file)
    else:
        document = _parse_yaml(text, file)
    _check_values(document)
    return document


_JSON_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _check_json_depth(text: str, file: str) -> None:
    """E141 where `text` nests deeper than `MAX_DEPTH` (strings skipped; unbalanced text is the parser's)."""
    depth = 0
    for match in _JSON_NESTING.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                raise too_deep(Span.point(file, line, match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1))
        elif token in "]}":
            depth -= 1


def _check_values(document: Located) -> None:
    """E142 for a string (or key) and E143 for a number that a pipeline cannot hold."""
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node.value, str):
            check_text(node.value, node.span)
        elif isinstance(node.value, dict):
            for key, (span, value) in node.value.items():
                check_text(key, span)
                pending.append(value)
        elif isinstance(node.value, list):
            pending.extend(node.value)
        else:
            check_number(node.value, node.span)


@cache
def _json_parser() -> lark.Lark:
    return lalr_parser("json", propagate_positions=True, maybe_placeholders=False)


def _parse_json(text: str, file: str) -> Located:
    try:
        json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):  # lark's parse says what is wrong, and where
        return _parse_json_slowly(text, file)
    return _JsonReader(text, file).document()


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


_JSON_TOKEN = re.compile(r'[ \t\n\r]*(?:(")|(-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)|(true|false|null)|([{}\[\],:]))')
_LITERALS = {"true": True, "false": False, "null": None}


class _JsonReader:
    """Reads valid JSON (`json.loads` accepted it) into a `Located` tree, much faster than the grammar."""

    def __init__(self, text: str, file: str):
        self.text = text
        self.file = file
        self.lines = [0, *(match.end() for match in re.finditer("\n", text))]
        """The offset each line starts at."""

    def span(self, start: int, end: int) -> Span:
        line = bisect.bisect_right(self.lines, start)
        end_line = bisect.bisect_right(self.lines, end - 1) if end > start else line
        return Span(file=self.file, line=line, column=start - self.lines[line - 1] + 1,
                    end_line=end_line, end_column=end - self.lines[end_line - 1] + 1)

    def document(self) -> Located:
        located, _ = self.value(0)
        return located

    def token(self, offset: int) -> re.Match[str]:
        match = _JSON_TOKEN.match(self.text, offset)
        assert match is not None, "the text is valid JSON"
        return match

    def string(self, match: re.Match[str]) -> tuple[str, int]:
        return json.decoder.scanstring(self.text, match.end())  # type: ignore[attr-defined,no-any-return]

    def value(self, offset: int) -> tuple[Located, int]:
        match = self.token(offset)
        start = match.start(match.lastindex or 0)
        if match.group(1):
            text, end = self.string(match)
            return Located(text, self.span(start, end)), end
        if match.group(2):
            number, span = match.group(2), self.span(start, match.end())
            check_number(number, span)
            return Located(float(number) if match.group(3) or match.group(4) else int(number), span), match.end()
        if match.group(5):
            return Located(_LITERALS[match.group(5)], self.span(start, match.end())), match.end()
        if match.group(6) == "[":
            return self.array(start, match.end())
        return self.object(start, match.end())

    def array(self, start: int, offset: int) -> tuple[Located, int]:
        items: list[Located] = []
        match = self.token(offset)
        while match.group(6) != "]":
            item, offset = self.value(offset)
            items.append(item)
            match = self.token(offset)
            offset = match.end()
            if match.group(6) == ",":
                match = self.token(offset)
        return Located(items, self.span(start, match.end())), match.end()

    def object(self, start: int, offset: int) -> tuple[Located, int]:
        entries: dict[str, tuple[Span, Located]] = {}
        match = self.token(offset)
        while match.group(6) != "}":
            key_start = match.start(1)
            key, offset = self.string(match)
            key_span = self.span(key_start, offset)
            if key in entries:
                raise _duplicate_key(key, key_span, entries[key][0])
            value, offset = self.value(self.token(offset).end())  # past the `:`
            entries[key] = (key_span, value)
            match = self.token(offset)
            offset = match.end()
            if match.group(6) == ",":
                match = self.token(offset)
        return Located(entries, self.span(start, match.end())), match.end()


def _parse_json_slowly(text: str, file: str) -> Located:
    try:
        tree = _json_parser().parse(text)
    except lark.UnexpectedCharacters as error:
        position = error.pos_in_stream or 0
        char = text[position] if position < len(text) else ""
        help_text = (
            "JSON strings use double quotes" if char == "'" else
            "JSON has no comments" if char in "/#" else
            "property names must be quoted strings" if char.isalpha() or char == "_" else
            "a string may not contain raw control characters; write \\n or \\t" if char in "\n\t\r" else None
        )
        raise FrontendError([Diagnostic(
            code="E101", message=f"invalid JSON: unexpected character {char!r}",
            span=Span.point(file, error.line, error.column), help=help_text,
        )]) from None
    except lark.UnexpectedToken as error:
        if error.token.type == "$END":
            line, column = _end_position(text)
            message, help_text = "invalid JSON: the document ends too early", "a closing `}` or `]` is missing"
        else:
            line, column = error.line, error.column
            message = f"invalid JSON: unexpected {error.token.value!r}"
            help_text = _json_token_help(error)
        raise FrontendError([Diagnostic(
            code="E101", message=message, span=Span.point(file, line, column, len(str(error.token))),
            help=help_text,
        )]) from None
    return _JsonBuilder(file).build(tree)


def _json_token_help(error: lark.UnexpectedToken) -> str:
    expected = error.expected
    if error.token.value in ("}", "]") and "STRING" in expected | {"STRING"} and "COMMA" not in expected:
        return "remove the trailing comma before it"
    if "COMMA" in expected:
        return "a comma is missing before it"
    if "COLON" in expected:
        return "a `:` must follow a property name"
    return "expected " + ", ".join(sorted(expected))


def _duplicate_key(key: str, span: Span, first: Span) -> FrontendError:
    return FrontendError([Diagnostic(
        code="E105", message=f"key `{key}` appears twice in the same mapping", span=span,
        help=f"the first `{key}` is at line {first.line}; keep one",
    )])


def _end_position(text: str) -> tuple[int, int]:
    lines = text.rstrip().splitlines() or [""]
    return len(lines), len(lines[-1]) + 1


class _JsonBuilder:
    def __init__(self, file: str):
        self.file = file

    def span(self, item: lark.Tree[lark.Token] | lark.Token) -> Span:
        meta = item.meta if isinstance(item, lark.Tree) else item
        return Span(file=self.file, line=meta.line or 1, column=meta.column or 1,
                    end_line=meta.end_line or 1, end_column=meta.end_column or 1)

    def build(self, tree: lark.Tree[lark.Token] | lark.Token) -> Located:
        if isinstance(tree, lark.Token):  # a bare scalar document
            if tree.type == "NUMBER":
                check_number(tree.value, self.span(tree))
            return Located(json.loads(tree.value), self.span(tree))
        kind = tree.data
        span = self.span(tree)
        if kind == "object":
            entries: dict[str, tuple[Span, Located]] = {}
            for pair in tree.children:
                assert isinstance(pair, lark.Tree)
                key_token, value = pair.children
                assert isinstance(key_token, lark.Token)
                key = json.loads(key_token.value)
                if key in entries:
                    raise _duplicate_key(key, self.span(key_token), entries[key][0])
                entries[key] = (self.span(key_token), self.build(value))
            return Located(entries, span)
        if kind == "array":
            return Located([self.build(child) for child in tree.children], span)
        literal = {"true": True, "false": False, "null": None}
        if kind in literal:
            return Located(literal[kind], span)
        token = tree.children[0]
        assert isinstance(token, lark.Token)
        if kind == "number":
            check_number(token.value, span)
        return Located(json.loads(token.value), span)


def _parse_yaml(text: str, file: str) -> Located:
    try:
        loader = _Loader(text, file)
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        raise FrontendError([Diagnostic(
            code="E102", message=f"invalid YAML: the character U+{error.character:04X} is not allowed",
            span=Span.point(file, line, column), help="remove it, or write it as an escape in a double-quoted string",
        )]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None, Span.point(file, 1, 1))
        return _YamlBuilder(file, loader).build(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        span = Span.point(file, mark.line + 1, mark.column + 1) if mark else Span.point(file, 1, 1)
        if mark and mark.index >= len(text.rstrip()):
            span = Span.at_end(file, text)  # at the end of the file: where its text ends, not past the last line
        raise FrontendError([Diagnostic(
            code="E102", message=f"invalid YAML: {error.problem or error.context}", span=span,
            help=_yaml_help(str(error.problem)),
        )]) from None
    except yaml.YAMLError as error:
        raise FrontendError([Diagnostic(code="E102", message=f"invalid YAML: {error}",
                                        span=Span.point(file, 1, 1))]) from None
    finally:
        loader.dispose()


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that composes at most `MAX_DEPTH` levels of collections and refuses tags."""

    def __init__(self, text: str, file: str):
        super().__init__(text)
        self.file = file
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if not isinstance(event, yaml.AliasEvent) and getattr(event, "tag", None) not in (None, "!"):
            raise yaml.MarkedYAMLError(problem=f"tags such as `{event.tag}` are not read in a pipeline config",
                                       problem_mark=event.start_mark)
        nests = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        self.depth += nests
        if self.depth > MAX_DEPTH:
            mark = event.start_mark
            raise too_deep(Span.point(self.file, mark.line + 1, mark.column + 1))
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= nests


def _yaml_help(problem: str) -> str | None:
    if "\\t" in problem or "tab" in problem:
        return "indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "check the indentation (keys of one mapping line up) or quote a value that contains `: `"
    if "could not find expected ':'" in problem:
        return "a key needs a `:` after it"
    if "<stream end>" in problem:
        return "the file ends too early: a value, or a closing `]` or `}`, is missing"
    return None


class _YamlBuilder:
    """Builds the `Located` tree of a composed YAML document.  A node reached again through an alias is the
    value built the first time; all such reuse together may add at most `MAX_ALIAS_VALUES` values, and an
    alias inside the node it names is an error (E144)."""

    def __init__(self, file: str, loader: yaml.SafeLoader):
        self.file = file
        self.loader = loader
        self.built: dict[int, tuple[Located, int]] = {}
        """A node (by id) → its value and how many values that holds."""
        self.building: set[int] = set()
        self.reused = 0

    def span(self, node: yaml.Node) -> Span:
        start, end = node.start_mark, node.end_mark
        return Span(file=self.file, line=start.line + 1, column=start.column + 1,
                    end_line=end.line + 1, end_column=end.column + 1)

    def build(self, node: yaml.Node) -> Located:
        return self._node(node)[0]

    def _node(self, node: yaml.Node) -> tuple[Located, int]:
        if id(node) in self.built:
            located, size = self.built[id(node)]
            self.reused += size
            if self.reused > MAX_ALIAS_VALUES:
                raise limit_error("E144", f"aliases expand to more than {MAX_ALIAS_VALUES:,} values",
                                  self.span(node))
            return located, size
        if id(node) in self.building:
            raise limit_error("E144", "an alias refers to the value it is part of", self.span(node))
        self.building.add(id(node))
        result = self._new(node)
        self.building.discard(id(node))
        self.built[id(node)] = result
        return result

    def _new(self, node: yaml.Node) -> tuple[Located, int]:
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            entries: dict[str, tuple[Span, Located]] = {}
            size = 1
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise FrontendError([Diagnostic(code="E102", message="invalid YAML: a key must be a plain value",
                                                    span=self.span(key_node), help="write the key as text")])
                key = self._scalar(key_node)
                if not isinstance(key, str):
                    key = str(key).lower() if isinstance(key, bool) else str(key)
                if key in entries:
                    raise _duplicate_key(key, self.span(key_node), entries[key][0])
                value, inner = self._node(value_node)
                entries[key] = (self.span(key_node), value)
                size += inner
            return Located(entries, self.span(node)), size
        if isinstance(node, yaml.SequenceNode):
            items = [self._node(item) for item in node.value]
            return Located([item for item, _ in items], self.span(node)), 1 + sum(size for _, size in items)
        return Located(self._scalar(node), self.span(node)), 1

    def _scalar(self, node: yaml.Node) -> Any:
        if node.tag in (_INT, _FLOAT):
            check_number(str(node.value), self.span(node))
        try:
            value = self.loader.construct_object(node)
        except (ValueError, TypeError, OverflowError) as error:
            raise FrontendError([Diagnostic(code="E102", message=f"invalid YAML value `{node.value}`: {error}",
                                            span=self.span(node), help="quote it to read it as text")]) from None
        if isinstance(value, (datetime.date, datetime.datetime)):
            value = value.isoformat()
        return value


_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
