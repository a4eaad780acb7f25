"""The driver: inputs → IR project → verified → optimised → lowered → written."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from sparklec.backends import Artifacts, get_backend
from sparklec.compiler.diagnostics import (
    Diagnostic, FrontendError, SparklecError, VerifyError, raise_if_errors,
)
from sparklec.compiler.passes import PassPipeline, default_passes
from sparklec.frontends.config import CONFIG_SUFFIXES, config_files, load_config
from sparklec.ir.pipeline import Project
from sparklec.ir.verify import verify


def input_files(paths: Sequence[Path], env: str | None) -> tuple[list[Path], list[Diagnostic]]:
    """The files named by `paths` (directories expanded), with notes about skipped files."""
    files: list[Path] = []
    notes: list[Diagnostic] = []
    problems = []
    for path in paths:
        if not path.exists():
            problems.append(Diagnostic(code="E501", message=f"no such file or directory: `{path}`"))
            continue
        if path.is_file() and path.suffix not in CONFIG_SUFFIXES:
            problems.append(Diagnostic(code="E501", message=f"`{path}` is not a pipeline file",
                                       help=f"sparklec reads {', '.join(CONFIG_SUFFIXES)} configs"))
            continue
        found, found_notes = config_files(path, env)
        files.extend(found)
        notes.extend(found_notes)
    if not files and not problems:
        problems.append(Diagnostic(code="E501", message="no pipeline files found in the given paths"))
    raise_if_errors(problems, FrontendError)
    return files, notes


def load(
    paths: Sequence[Path], *, env: str | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Project, list[Diagnostic]]:
    """Read and verify the pipelines in `paths` as one project.

    Returns the project and its warnings; raises `FrontendError` or
    `VerifyError` with every error found (in all files, not just the first).
    """
    files, diagnostics = input_files(paths, env)
    environ = os.environ if environ is None else environ
    pipelines = []
    failed = False
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            diagnostics.append(Diagnostic(code="E501", message=f"cannot read `{file}`: {error}"))
            failed = True
            continue
        try:
            pipeline, warnings = load_config(text, str(file), env=env, environ=environ)
        except SparklecError as error:
            diagnostics.extend(error.diagnostics)
            failed = True
            continue
        diagnostics.extend(warnings)
        pipelines.append(pipeline)
    if failed:
        raise FrontendError(diagnostics)
    project = Project(name=project_name(paths, [p.name for p in pipelines]), pipelines=tuple(pipelines))
    diagnostics.extend(verify(project))
    raise_if_errors(diagnostics, VerifyError)
    return project, diagnostics


def project_name(paths: Sequence[Path], pipelines: Sequence[str]) -> str:
    """One pipeline: its name; several: the directory's name (lower-case, `_` for the rest)."""
    if len(pipelines) == 1:
        return pipelines[0]
    base = paths[0].resolve() if len(paths) == 1 and paths[0].is_dir() else Path("project")
    return re.sub(r"[^a-z0-9_]+", "_", base.name.lower()).strip("_") or "project"


def optimise(project: Project, after_pass: Callable[[str, Project], None] | None = None) -> Project:
    """Run the default pass pipeline."""
    return PassPipeline(default_passes(), after_pass).run(project)


def lower(project: Project, backend_name: str, options: Mapping[str, str]) -> Artifacts:
    """Lower an optimised project with the named backend."""
    return get_backend(backend_name).lower(project, options)
