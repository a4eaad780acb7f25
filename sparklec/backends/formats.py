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
    """`data` as indented JSON, keys in insertion order, with a final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
