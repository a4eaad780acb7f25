"""Deterministic serialisers for generated YAML and JSON (data in, text out; never templates)."""

from __future__ import annotations

import json
from typing import Any

import yaml


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Writes every value in full (no `&anchor`/`*alias` pairs, which some tools reject), and text of
    several lines as a literal block; with libyaml's emitter where PyYAML has it (the same text, faster)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_UNUSUAL_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
"""Characters YAML reads as line breaks, which only a double-quoted scalar keeps exactly."""


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style: str | None = None
    if any(mark in text for mark in _UNUSUAL_BREAKS):
        style = '"'
    elif "\n" in text.rstrip("\n") and not any(line != line.rstrip() for line in text.split("\n")):
        style = "|"
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _text)


def yaml_text(data: Any, width: int = 100) -> str:
    """`data` as YAML, keys in insertion order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=width)


def json_text(data: Any) -> str:
    """`data` (string keys) as indented JSON, keys in insertion order, with a final newline: the text of
    ``json.dumps(data, indent=2, ensure_ascii=False)``, written in time linear in its length however deep
    `data` nests (the standard encoder's indented mode passes each piece up through every enclosing level)."""
    pieces: list[str] = []
    _encode(data, "\n", pieces)
    pieces.append("\n")
    return "".join(pieces)


_string = getattr(json.encoder, "c_encode_basestring", None) or json.encoder.encode_basestring


def _encode(value: Any, newline: str, pieces: list[str]) -> None:
    """Append the indented JSON of `value`, whose lines start with `newline`, to `pieces`."""
    if isinstance(value, str):
        pieces.append(_string(value))
    elif isinstance(value, dict):
        if not value:
            pieces.append("{}")
            return
        inner = newline + "  "
        opening = "{" + inner
        for key, item in value.items():
            pieces += (opening, _string(key), ": ")
            _encode(item, inner, pieces)
            opening = "," + inner
        pieces.append(newline + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            pieces.append("[]")
            return
        inner = newline + "  "
        opening = "[" + inner
        for item in value:
            pieces.append(opening)
            _encode(item, inner, pieces)
            opening = "," + inner
        pieces.append(newline + "]")
    else:
        pieces.append(json.dumps(value))


def json_size(data: Any) -> int:
    """The length in UTF-8 bytes of `json_text(data)`, found without writing the indented text (whose
    indentation grows with the nesting: a deeply nested document is far longer indented than compact)."""
    compact = json.dumps(data, ensure_ascii=False, separators=(",", ": "))
    return len(compact.encode()) + _indentation(data, 0) + 1


def _indentation(value: Any, depth: int) -> int:
    """The line breaks and indentation `json_text` adds to `value` at nesting `depth`."""
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    if not items:
        return 0
    return (len(items) * (2 * depth + 3) + 2 * depth + 1
            + sum(_indentation(item, depth + 1) for item in items if isinstance(item, (dict, list, tuple))))
