"""Deterministic serialisers for generated YAML and JSON (data in, text out; never templates)."""

from __future__ import annotations

import json
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Writes every value in full: no `&anchor`/`*alias` pairs, which some tools reject."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def yaml_text(data: Any, width: int = 100) -> str:
    """`data` as YAML, keys in insertion order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=width)


def json_text(data: Any) -> str:
    """`data` as indented JSON, keys in insertion order, with a final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
