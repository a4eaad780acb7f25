"""The grammars of the DSL (`pipeline.lark`) and of positioned JSON (`json.lark`), and their parsers."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import lark

try:
    import fcntl
except ImportError:  # Windows: no locking; a half-written cache is rebuilt by lark when it fails to load
    fcntl = None  # type: ignore[assignment]


def lalr_parser(name: str, **options: Any) -> lark.Lark:
    """The LALR parser of ``<name>.lark``.  Its tables are cached in the user's cache folder (lark checks
    the cache against the grammar, the options and its own version, and rebuilds it when they differ);
    processes take turns, so none reads tables another is still writing."""
    grammar = resources.files(__name__).joinpath(f"{name}.lark").read_text(encoding="utf-8")
    folder = _cache_folder()
    if folder is None:
        return lark.Lark(grammar, parser="lalr", **options)
    with _locked(folder / f"{name}.lock"):
        return lark.Lark(grammar, parser="lalr", cache=str(folder / f"{name}.lark-tables"), **options)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _cache_folder() -> Path | None:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sparklec"
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return base if os.access(base, os.W_OK) else None
