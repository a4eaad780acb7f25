"""The grammars of the DSL (`pipeline.lark`) and of positioned JSON (`json.lark`), and their parsers."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import lark


def lalr_parser(name: str, **options: Any) -> lark.Lark:
    """The LALR parser of ``<name>.lark``.  Its tables are cached in the user's cache folder (lark checks
    the cache against the grammar, the options and its own version, and rebuilds it when they differ)."""
    grammar = resources.files(__name__).joinpath(f"{name}.lark").read_text(encoding="utf-8")
    return lark.Lark(grammar, parser="lalr", cache=_cache_file(name) or False, **options)


def _cache_file(name: str) -> str | None:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sparklec"
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return str(base / f"{name}.lark-tables") if os.access(base, os.W_OK) else None
