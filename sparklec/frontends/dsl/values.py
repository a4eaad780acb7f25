"""Reading leaves of the `.spk` syntax tree: names, strings, values and their spans."""

from __future__ import annotations

import json
from typing import Any

import lark

from sparklec.diagnostics import Diagnostic, Span
from sparklec.ir.values import Column, Value, normalize_type, parse_duration

Node = Any
"""A lark tree or token of the `.spk` grammar (children are trees, tokens, or None for absent options)."""


class Leaves:
    """Converts tree leaves to Python values; problems go to `report`."""

    def __init__(self, file: str, report: list[Diagnostic]):
        self.file = file
        self.report = report

    def error(self, code: str, message: str, node: Node | Span | None, help: str | None = None) -> None:
        span = node if isinstance(node, Span) or node is None else self.span(node)
        self.report.append(Diagnostic(code=code, message=message, span=span, help=help))

    def span(self, node: Node) -> Span:
        meta = node if isinstance(node, lark.Token) else node.meta
        line, column = getattr(meta, "line", None) or 1, getattr(meta, "column", None) or 1
        end_line, end_column = getattr(meta, "end_line", None) or line, getattr(meta, "end_column", None) or column + 1
        if end_line != line:  # a multi-line construct: point at its first line's start
            end_line, end_column = line, column + 1
        return Span(file=self.file, line=line, column=column, end_line=end_line, end_column=end_column)

    def name(self, node: Node) -> str:
        token = node.children[0] if isinstance(node, lark.Tree) else node
        text = str(token)
        return text[1:-1] if text.startswith("`") else text

    def string(self, node: Node) -> str:
        token = str(node.children[0] if isinstance(node, lark.Tree) else node)
        if token.startswith('"""'):
            return token[3:-3]
        return str(json.loads(token, strict=False))

    def names(self, node: Node) -> tuple[str, ...]:
        """A `name_list` as a tuple of names."""
        return tuple(self.name(child) for child in node.children if child is not None)

    def refs(self, *nodes: Node | None) -> tuple[tuple[str, Span], ...]:
        """(name, span) of each name in `nodes` (names or name lists), for diagnostics."""
        result: list[tuple[str, Span]] = []
        for node in nodes:
            if node is None:
                continue
            if isinstance(node, lark.Tree) and node.data == "name_list":
                result.extend((self.name(child), self.span(child)) for child in node.children)
            else:
                result.append((self.name(node), self.span(node)))
        return tuple(result)

    def plain(self, node: Node) -> Any:
        """A value as plain Python: lists, dicts, str (names too), int, float, bool, None."""
        if isinstance(node, lark.Token):
            if node.type == "DURATION":
                return parse_duration(str(node))
            if node.type == "NUMBER":
                return _number(str(node))
            return self.string(node) if node.type in ("STRING", "LONG_STRING") else str(node)
        kind = node.data
        if kind == "string":
            return self.string(node)
        if kind == "name":
            return self.name(node)
        if kind == "number":
            return _number(str(node.children[0]))
        if kind == "duration":
            return parse_duration(str(node.children[0]))
        if kind in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[kind]
        if kind == "list":
            return [self.plain(child) for child in node.children if child is not None]
        if kind == "map":
            result: dict[str, Any] = {}
            for pair in node.children:
                if pair is None:
                    continue
                key_node, value_node = pair.children
                key = self.string(key_node) if key_node.data == "string" else self.name(key_node)
                if key in result:
                    self.error("E105", f"key `{key}` appears twice", key_node)
                result[key] = self.plain(value_node)
            return result
        if kind == "dotted":
            return ".".join(self.name(child) for child in node.children)
        raise AssertionError(f"not a value: {kind}")

    def value(self, node: Node) -> Value:
        """A value as an IR `Value` (lists become tuples); maps are not values."""
        return self.value_of(self.plain(node), node)

    def value_of(self, plain: Any, node: Node | None = None) -> Value:
        """A plain value as an IR `Value`."""
        return _frozen(plain, lambda: self.error("E113", "a map cannot stand here", node))

    def columns(self, node: Node) -> tuple[Column, ...]:
        """A `columns { name: type [not null] ["description"], ... }` block."""
        result = []
        for column in (c for c in node.children if c is not None):
            name, type_node, not_null, description = column.children
            result.append(Column(
                name=self.name(name), type=self.column_type(type_node), nullable=not_null is None,
                description=self.string(description) if description is not None else "", span=self.span(name),
            ))
        return tuple(result)

    def type_text(self, node: Node) -> str:
        """The source text of a `type` subtree, e.g. ``decimal(18,2)`` or ``map<string,int>``."""
        head = self.name(node.children[0])
        rest = [c for c in node.children[1:] if c is not None]
        if rest and isinstance(rest[0], lark.Tree) and rest[0].data == "type":
            return f"{head}<{','.join(self.type_text(c) for c in rest)}>"
        if rest and isinstance(rest[0], lark.Tree) and rest[0].data == "field_type":
            fields = (f"{self.name(c.children[0])}:{self.type_text(c.children[1])}" for c in rest)
            return f"{head}<{','.join(fields)}>"
        if rest:
            return f"{head}({','.join(str(c) for c in rest)})"
        return head

    def column_type(self, node: Node) -> str:
        text = self.type_text(node)
        normal = normalize_type(text)
        if normal is None:
            self.error("E113", f"unknown column type `{text}`", node,
                       "use string, int, bigint, double, decimal(p,s), boolean, date, timestamp, array<T>, map<K,V>, struct<name:T,...>")
            return text
        return normal


def _number(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


def _frozen(plain: Any, on_map: Any) -> Value:
    if isinstance(plain, list):
        return tuple(_frozen(item, on_map) for item in plain)
    if isinstance(plain, dict):
        on_map()
        return None
    return plain  # type: ignore[no-any-return]
