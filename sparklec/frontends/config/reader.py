"""Typed, positioned access to a configuration mapping.

`Reader` wraps a `Located` mapping and returns plain Python values; every
missing field, wrong type, bad choice or unknown key becomes a diagnostic at
the exact key or value, and the reader returns a safe default so that one
pass over a config reports all of its problems.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sparklec.diagnostics import Diagnostic, Severity, Span, did_you_mean
from sparklec.frontends.documents import Located
from sparklec.ir.values import Scalar, parse_duration

_TYPE_WORDS = {
    str: "a string", int: "an integer", float: "a number", bool: "true or false",
    list: "a list", dict: "a mapping", type(None): "null",
}


def describe(value: Any) -> str:
    """How a value's type reads in a message: ``a string``, ``a list``, ..."""
    return _TYPE_WORDS.get(type(value), type(value).__name__)


class Reader:
    """Reads the fields of one mapping; `path` (``extra_config.quality_checks``) names it in messages."""

    def __init__(self, node: Located, report: list[Diagnostic], path: str = ""):
        self.node = node
        self.report = report
        self.path = path
        self.entries: dict[str, tuple[Span, Located]] = node.value if node.is_mapping else {}

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def keys(self) -> list[str]:
        return list(self.entries)

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, code: str, message: str, span: Span | None, help: str | None = None,
              severity: Severity = Severity.ERROR) -> None:
        self.report.append(Diagnostic(code=code, message=message, span=span, help=help, severity=severity))

    def key_span(self, key: str) -> Span:
        return self.entries[key][0] if key in self.entries else self.node.span

    def value_span(self, key: str) -> Span:
        return self.entries[key][1].span if key in self.entries else self.node.span

    def raw(self, key: str) -> Located | None:
        return self.entries[key][1] if key in self.entries else None

    def check_keys(self, known: Iterable[str], *, warn: bool = False, help_suffix: str = "") -> None:
        """Report every key that is not in `known` (as a warning when `warn`)."""
        known = list(known)
        for key, (span, _) in self.entries.items():
            if key not in known:
                suggestion = did_you_mean(key, known)
                self.error(
                    "W101" if warn else "E104",
                    f"unknown key `{self._name(key)}`" + (" (ignored)" if warn else ""),
                    span,
                    suggestion or (help_suffix or f"known keys: {', '.join(known)}"),
                    Severity.WARNING if warn else Severity.ERROR,
                )

    def require(self, key: str, why: str = "") -> bool:
        if key in self.entries:
            return True
        span = self.node.span
        entry = f"{key}: ..." if span is not None and span.file.endswith((".yaml", ".yml")) else f'"{key}": ...'
        self.error("E106", f"missing required field `{self._name(key)}`{why}", span, f"add `{entry}` to this mapping")
        return False

    def _typed(self, key: str, expected: tuple[type, ...], word: str) -> Any:
        node = self.raw(key)
        if node is None:
            return None
        value = node.value
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            self.error("E103", f"`{self._name(key)}` must be {word}, not {describe(value)}", node.span)
            return None
        return value

    def string(self, key: str, default: str | None = None, choices: Iterable[str] | None = None) -> str | None:
        value = self._typed(key, (str,), "a string")
        if value is None:
            return default
        if choices is not None:
            choices = tuple(choices)
            if value not in choices:
                self.error("E109", f"`{self._name(key)}` must be one of {', '.join(choices)}, not `{value}`",
                           self.value_span(key), did_you_mean(value, choices))
                return default
        return str(value)

    def strings(self, key: str, one: bool = True) -> tuple[str, ...]:
        """A list of strings; a single string is taken as a list of one when `one`, else it is an error that
        shows the list to write."""
        node = self.raw(key)
        if node is None:
            return ()
        if isinstance(node.value, str) and one:
            return (node.value,)
        if isinstance(node.value, str):
            self.error("E103", f"`{self._name(key)}` must be a list of strings, not a string", node.span,
                       f"write it as a list: {json.dumps([node.value])}")
            return ()
        if node.is_list and all(isinstance(item.value, str) for item in node.value):
            return tuple(item.value for item in node.value)
        bad = next((item for item in node.value if not isinstance(item.value, str)), node) if node.is_list else node
        self.error("E103", f"`{self._name(key)}` must be a list of strings", bad.span)
        return ()

    def integer(self, key: str, default: int | None = None, minimum: int | None = None) -> int | None:
        value = self._typed(key, (int,), "an integer")
        if value is None:
            return default
        if minimum is not None and value < minimum:
            self.error("E113", f"`{self._name(key)}` must be at least {minimum}", self.value_span(key))
            return default
        return int(value)

    def number(self, key: str, default: float | None = None) -> float | None:
        value = self._typed(key, (int, float), "a number")
        return default if value is None else float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._typed(key, (bool,), "true or false")
        return default if value is None else bool(value)

    def literal(self, key: str) -> Scalar:
        node = self.raw(key)
        if node is None:
            return None
        if node.is_list or node.is_mapping:
            self.error("E103", f"`{self._name(key)}` must be a literal value", node.span)
            return None
        return node.value  # type: ignore[no-any-return]

    def duration(self, key: str) -> int | None:
        """Seconds from ``"30s"``/``"1h"`` or a bare number of seconds."""
        node = self.raw(key)
        if node is None:
            return None
        if isinstance(node.value, int) and not isinstance(node.value, bool) and node.value >= 0:
            return node.value
        seconds = parse_duration(node.value) if isinstance(node.value, str) else None
        if seconds is None:
            self.error("E113", f"`{self._name(key)}` must be a duration such as 30s, 10m, 1h or 2d",
                       node.span)
        return seconds

    def mapping(self, key: str) -> Reader | None:
        node = self.raw(key)
        if node is None:
            return None
        if not node.is_mapping:
            self.error("E103", f"`{self._name(key)}` must be a mapping, not {describe(node.value)}", node.span)
            return None
        return Reader(node, self.report, self._name(key))

    def items(self, key: str) -> list[Located]:
        """The elements of a list field."""
        node = self.raw(key)
        if node is None:
            return []
        if not node.is_list:
            self.error("E103", f"`{self._name(key)}` must be a list, not {describe(node.value)}", node.span)
            return []
        return list(node.value)

    def entry_readers(self, key: str) -> list[Reader]:
        """The elements of a list of mappings, each as a reader."""
        readers = []
        for index, item in enumerate(self.items(key)):
            if item.is_mapping:
                readers.append(Reader(item, self.report, f"{self._name(key)}[{index}]"))
            else:
                self.error("E103", f"`{self._name(key)}[{index}]` must be a mapping", item.span)
        return readers
