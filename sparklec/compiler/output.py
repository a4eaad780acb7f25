"""Atomic output: all generated files appear together, or nothing changes."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from sparklec.compiler.diagnostics import Diagnostic, UsageError


def check_paths(artifacts: dict[str, str]) -> None:
    """Every artifact path is relative and stays inside the output directory."""
    bad = []
    for path in artifacts:
        parts = PurePosixPath(path).parts
        if not path or path.startswith("/") or "\\" in path or ".." in parts or ":" in path or "\0" in path:
            bad.append(Diagnostic(code="E504", message=f"generated path `{path}` would leave the output directory",
                                  help="names used in file paths may not contain `..`, `/`, `\\` or `:`"))
    if bad:
        raise UsageError(bad)


def write_atomically(artifacts: dict[str, str], output: Path) -> list[Path]:
    """Write `artifacts` under `output`, replacing its previous content as a whole.

    Files go to a temporary sibling directory first; only when every file is
    written is it moved into place.  On any error the temporary directory is
    removed and `output` is left as it was.
    """
    check_paths(artifacts)
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    previous = output.with_name(f".{output.name}.previous")
    try:
        for path in sorted(artifacts):
            target = staging.joinpath(*PurePosixPath(path).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(artifacts[path])
            if path.endswith(".sh"):
                target.chmod(0o755)
        staging.chmod(0o755)
        if previous.exists():
            shutil.rmtree(previous)
        if output.exists():
            os.replace(output, previous)
        os.replace(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if previous.exists() and not output.exists():
            os.replace(previous, output)
        raise
    shutil.rmtree(previous, ignore_errors=True)
    return [output.joinpath(*PurePosixPath(p).parts) for p in sorted(artifacts)]
