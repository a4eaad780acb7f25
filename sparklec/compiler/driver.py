"""The driver: inputs → IR project → verified → optimised → lowered → written."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

from sparklec.backends import BUILTIN, Artifacts, get_backend
from sparklec.diagnostics import (
    Diagnostic, FrontendError, LoweringError, Severity, Span, SparklecError, UsageError, VerifyError, os_error,
    raise_if_errors,
)
from sparklec.compiler.output import MANIFEST
from sparklec.compiler.passes import PassPipeline, default_passes
from sparklec.frontends.config import CONFIG_SUFFIXES, load_config
from sparklec.frontends.dsl import parse as parse_dsl
from sparklec.frontends.limits import check_size
from sparklec.ir.pipeline import Pipeline, Project
from sparklec.ir.verify import verify


INPUT_SUFFIXES = (".spk", *CONFIG_SUFFIXES)


def input_files(paths: Sequence[Path], env: str | None) -> tuple[list[Path], list[Diagnostic]]:
    """The files named by `paths` (directories expanded), with notes about skipped files."""
    files: list[Path] = []
    notes: list[Diagnostic] = []
    problems: list[Diagnostic] = []
    for path in paths:
        try:
            found, found_notes = _named_files(path, env)
        except FrontendError as error:
            problems.extend(error.diagnostics)
            continue
        except OSError as error:
            problems.append(os_error(error, "read"))
            continue
        files.extend(found)
        notes.extend(found_notes)
    if not files and not problems:
        problems.append(Diagnostic(code="E501", message="no pipeline files found in the given paths"))
    raise_if_errors(problems, FrontendError)
    return files, notes


def _named_files(path: Path, env: str | None) -> tuple[list[Path], list[Diagnostic]]:
    """`pipeline_files` of a path named by the user, which must be a pipeline file or a folder."""
    if not path.exists():
        raise FrontendError([Diagnostic(code="E501", message=f"no such file or directory: `{path}`")])
    if path.is_file() and path.suffix not in INPUT_SUFFIXES:
        raise FrontendError([Diagnostic(
            code="E501", message=f"`{path}` is not a pipeline file",
            help=f"sparklec reads .spk files and {', '.join(CONFIG_SUFFIXES)} configs")])
    return pipeline_files(path, env)


def pipeline_files(path: Path, env: str | None) -> tuple[list[Path], list[Diagnostic]]:
    """The pipeline files under `path`: the file itself, or a directory's configs and `.spk` files.

    A directory holding ``dev``/``qa``/``prod`` files is one pipeline per
    environment: the file for `env` is chosen.  JSON Schema documents are skipped.
    """
    notes: list[Diagnostic] = []
    if path.is_file():
        return [path], notes
    if (path / MANIFEST).is_file():
        notes.append(Diagnostic(code="N102", severity=Severity.NOTE,
                                message=f"skipped `{path}`: files sparklec generated, not pipelines"))
        return [], notes
    try:
        entries = sorted(p for p in path.iterdir() if p.is_dir() or p.suffix in INPUT_SUFFIXES)
    except OSError as error:
        raise FrontendError([os_error(error, "read the folder")]) from None
    per_env = {p.stem: p for p in entries if p.is_file() and p.stem in ("dev", "qa", "prod")}
    if per_env:
        if env is None:
            raise FrontendError([Diagnostic(
                code="E501", message=f"`{path}` holds one config per environment ({', '.join(sorted(per_env))})",
                help="choose one with --env (`env=` in Python)",
            )])
        if env not in per_env:
            raise FrontendError([Diagnostic(
                code="E501", message=f"`{path}` has no config for environment `{env}`",
                help=f"available: {', '.join(sorted(per_env))}",
            )])
        return [per_env[env]], notes
    files: list[Path] = []
    for entry in entries:
        if entry.is_dir():
            inner, inner_notes = pipeline_files(entry, env)
            files.extend(inner)
            notes.extend(inner_notes)
        elif _is_json_schema(entry):
            notes.append(Diagnostic(code="N101", severity=Severity.NOTE,
                                    message=f"skipped `{entry}`: a JSON Schema, not a pipeline config"))
        else:
            files.append(entry)
    return files, notes


def _is_json_schema(path: Path) -> bool:
    """Whether `path` is a JSON Schema document (such as the Sparkle config schema)."""
    if path.suffix != ".json":
        return False
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(document, dict) and "json-schema.org" in str(document.get("$schema", "")) \
        and "properties" in document


def load(
    paths: Sequence[Path], *, env: str | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Project, list[Diagnostic]]:
    """Read and verify the pipelines in `paths` as one project.

    Returns the project and its warnings; raises `FrontendError` or
    `VerifyError` with every error found (in all files, not just the first).
    """
    files, diagnostics = input_files(paths, env)
    environ = os.environ if environ is None else environ
    pipelines: list[Pipeline] = []
    named: str | None = None
    failed = False
    for file in files:
        try:
            text = read_text(file)
            if file.suffix == ".spk":
                parsed = parse_dsl(text, str(file))
                pipelines.extend(attrs.evolve(p, env=env) if env else p for p in parsed.pipelines)
                named = parsed.name if len(files) == 1 else None
            else:
                pipeline, warnings = load_config(text, str(file), env=env, environ=environ)
                diagnostics.extend(warnings)
                pipelines.append(pipeline)
        except SparklecError as error:
            diagnostics.extend(error.diagnostics)
            failed = True
        except OSError as error:
            diagnostics.append(os_error(error, "read"))
            failed = True
    name = named or project_name(paths, [p.name for p in pipelines])
    project = Project(name=name, pipelines=tuple(pipelines))
    if failed:  # the files that were read are still checked; their links to unread ones are not
        meaning = [d for d in verify(project) if d.is_error]
        raise FrontendError([*diagnostics, *meaning] if meaning else check_sql(project, diagnostics))
    return verified(project, diagnostics)


def read_text(file: Path) -> str:
    """The text of a pipeline file: UTF-8 (a leading BOM is dropped), within the size limit (E140, E501)."""
    check_size(file.stat().st_size, str(file))
    data = file.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start:error.start].decode("utf-8", "replace")) + 1
        raise FrontendError([Diagnostic(
            code="E501", message=f"the file is not UTF-8 text: {error.reason} (byte {error.start + 1})",
            span=Span.point(str(file), data.count(b"\n", 0, error.start) + 1, column),
            help="save the file as UTF-8")]) from None


def load_dsl(text: str, file: str = "<dsl>", *, env: str | None = None) -> tuple[Project, list[Diagnostic]]:
    """Parse and verify `.spk` text (`file` names it in diagnostics), like `load` does a file."""
    parsed = parse_dsl(text, file)
    if env:
        parsed = attrs.evolve(parsed, pipelines=tuple(attrs.evolve(p, env=env) for p in parsed.pipelines))
    return verified(parsed, [])


def verified(project: Project, diagnostics: list[Diagnostic]) -> tuple[Project, list[Diagnostic]]:
    """`project`, its pipelines in the order of their names (so no output depends on the order they were
    written in), and its warnings (after `diagnostics`); raises `VerifyError` with every error found."""
    diagnostics = [*diagnostics, *verify(project)]
    raise_if_errors(diagnostics, VerifyError)
    return attrs.evolve(project, pipelines=tuple(sorted(project.pipelines, key=lambda p: p.name))), diagnostics


def project_name(paths: Sequence[Path], pipelines: Sequence[str]) -> str:
    """One pipeline: its name; several: the directory's name (lower-case, `_` for the rest)."""
    if len(pipelines) == 1:
        return pipelines[0]
    base = paths[0].resolve() if len(paths) == 1 and paths[0].is_dir() else Path("project")
    return re.sub(r"[^a-z0-9_]+", "_", base.name.lower()).strip("_") or "project"


def pass_names(backend_name: str | None = None) -> list[str]:
    """The names of the passes a compile runs, in order (what ``--print-ir-after`` accepts): the default ones,
    then those the backend declares."""
    extra = get_backend(backend_name).passes() if backend_name else ()
    return [pass_.name for pass_ in (*default_passes(), *extra)]


def optimise(project: Project, after_pass: Callable[[str, Project], None] | None = None) -> Project:
    """Run the default pass pipeline."""
    return PassPipeline(default_passes(), after_pass).run(project)


def check_sql(project: Project, diagnostics: Sequence[Diagnostic] = ()) -> list[Diagnostic]:
    """`diagnostics`, then what generating the SQL of every task finds (user SQL that does not parse, ...)."""
    from sparklec.sql.tasks import sql_problems

    return [*diagnostics, *(d for d in sql_problems(project) if d not in diagnostics)]


def lower(project: Project, backend_name: str, options: Mapping[str, str],
          after_pass: Callable[[str, Project], None] | None = None, emit_plan: bool = False) -> Artifacts:
    """Lower an optimised project with the named backend, after the passes it declares (their notes come first
    in the artifacts'); an error comes with every SQL error of the project.  With `emit_plan`, the one file is
    ``plan.json``: the execution plans on the backend's target."""
    backend = get_backend(backend_name)
    notes: list[Diagnostic] = []
    project = PassPipeline(backend.passes(), after_pass, notes.extend).run(project)
    if emit_plan:
        if backend.profile is None:
            raise UsageError([Diagnostic(code="E502", message=f"the {backend_name} backend has no execution plan",
                                         help="plans exist for: " + ", ".join(sorted(
                                             n for n in BUILTIN if get_backend(n).profile is not None)))])
        from sparklec.lowering import build_plans
        from sparklec.ir.serialize import to_json

        return Artifacts({"plan.json": to_json(build_plans(project, backend.profile, options))}, notes)
    try:
        artifacts = backend.lower(project, options)
    except LoweringError as error:
        raise LoweringError(check_sql(project, error.diagnostics)) from None
    return Artifacts(artifacts, [*notes, *getattr(artifacts, "notes", ())])
