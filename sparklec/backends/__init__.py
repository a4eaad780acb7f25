"""Backends: lowering the IR to deployable files.

Writing a backend
-----------------
A backend is a pure function of the verified, optimised IR::

    def lower(project: Project, options: Mapping[str, str]) -> Artifacts

It receives the IR after the default passes and the passes it declares
(``passes=``, e.g. Step Functions' `series-parallel`), and returns
`Artifacts` — relative path → file text, optionally with
warnings as `notes` — and does no I/O: the driver checks the paths and
writes the files atomically.  Options come from
``--option key=value`` on the command line.  An unknown option, or IR the
target cannot express, is reported by raising `UsageError` (the
former; `check_options` does it) or `LoweringError` (the latter) with
diagnostics.  The built-in backends print execution plans: they declare a
`TargetProfile` (``profile=``) and lower what
`sparklec.lowering.build_plans` makes of the project on it, never the IR's
task classes.  The smallest complete backend::

    from sparklec.backends import Artifacts, Backend
    from sparklec.ir.serialize import to_json

    def lower(project, options):
        return {f"{p.name}.json": to_json(p) for p in project.pipelines}

    backend = Backend(name="ir-json", description="each pipeline's IR as JSON", lower=lower)

Register it with one line in `BUILTIN` below (a module path and attribute),
or, from another package, under the ``sparklec.backends`` entry-point group::

    [project.entry-points."sparklec.backends"]
    ir-json = "my_package.backend:backend"

Backends are imported only when used, so a slow import costs nothing to
commands that do not need it.  Two backends with one name are an error.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from sparklec.diagnostics import Diagnostic, UsageError, did_you_mean
from sparklec.ir.pipeline import Project

if TYPE_CHECKING:
    from sparklec.compiler.passes import Pass
    from sparklec.lowering import TargetProfile

class Artifacts(dict[str, str]):
    """Generated files: a relative path (``/``-separated) → its text.

    `notes` are warnings and notes about the output (a plain dict of files
    is accepted too, with none); `left_out` names the tasks the files do not
    run, (pipeline, task) → why: `LANDED` when the task's data is there before
    a run starts (dbt reads what an ingestion lands as a source).
    """

    def __init__(self, files: Mapping[str, str] | None = None, notes: Sequence[Diagnostic] = (),
                 left_out: Mapping[tuple[str, str], str] | None = None):
        super().__init__(files or {})
        self.notes = list(notes)
        self.left_out = dict(left_out or {})


LANDED = "landed before the run"
"""Why a task is left out when its data is read as it lands (`Artifacts.left_out`)."""


@attrs.frozen
class Backend:
    """A named target: `lower(project, options) -> Artifacts`."""

    name: str
    description: str
    lower: Callable[[Project, Mapping[str, str]], Artifacts]
    folder: Callable[[str], str] | None = None
    """A project's name → the folder under ``deployments/`` that `sparklec.Pipeline.deploy` writes it to
    (default: ``<backend>/<project>``)."""
    passes: Callable[[], Sequence[Pass]] = tuple
    """The passes the backend needs beyond the default ones; the driver runs them, verified, before `lower`."""
    profile: TargetProfile | None = None
    """Where the target runs each kind of task, for its execution plan (``--emit plan``)."""

    def deployment_folder(self, project: str) -> str:
        """Where, under ``deployments/``, the files of `project` go by default."""
        return self.folder(project) if self.folder else f"{self.name}/{project}"


BUILTIN: dict[str, str] = {
    "dbt": "sparklec.backends.dbt:backend",
    "stepfunctions": "sparklec.backends.stepfunctions:backend",
    "argo": "sparklec.backends.argo:backend",
}
"""Backend name → ``module:attribute`` of its `Backend`, imported on first use."""

ENTRY_POINT_GROUP = "sparklec.backends"

PLANNED = ("databricks", "airflow", "dagster", "prefect", "mage")
"""Orchestrators Sparkle pipelines are deployed to that have no sparklec backend yet."""


def check_options(backend: str, options: Mapping[str, str], accepted: Mapping[str, tuple[str, ...] | None]) -> None:
    """Raise `UsageError` (exit code 2) for options `backend` does not have or values it does not take.

    `accepted` maps each option to its allowed values (None: any non-empty value).
    """
    listing = ", ".join(f"{key}={'|'.join(values) if values else '...'}" for key, values in accepted.items())
    problems = []
    for key, value in options.items():
        allowed = accepted.get(key, ())
        if key not in accepted:
            message = f"the {backend} backend has no option `{key}`"
        elif (allowed is None and not value) or (allowed is not None and value not in allowed):
            message = f"option `{key}` must be " + (f"one of {', '.join(allowed)}" if allowed else "a value") \
                + f", not `{value}`"
        else:
            continue
        problems.append(Diagnostic(code="E401", message=message, help=f"options: {listing}"))
    if problems:
        raise UsageError(problems)


def available() -> dict[str, str]:
    """Every backend name → where it comes from (``module:attribute``)."""
    from importlib.metadata import entry_points  # imported here: slow to import, and `check` needs no backend

    found = dict(BUILTIN)
    problems = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in found:
            problems.append(Diagnostic(
                code="E503",
                message=f"backend `{entry.name}` is registered twice ({found[entry.name]} and {entry.value})",
                help="uninstall one of the packages, or rename its backend",
            ))
        found[entry.name] = entry.value
    if problems:
        raise UsageError(problems)
    return dict(sorted(found.items()))


ALIASES = {"step_functions": "stepfunctions", "step-functions": "stepfunctions", "argo_workflows": "argo",
           "argo-workflows": "argo"}
"""Other spellings of backend names (``step_functions`` is the folder Sparkle's documentation deploys to)."""


def get_backend(name: str) -> Backend:
    """The backend called `name` (or one of its `ALIASES`); an unknown name lists the available ones."""
    name = ALIASES.get(name, name)
    backends = available()
    if name not in backends:
        listed = ", ".join(backends) or "none are installed"
        message = f"there is no {name} backend yet" if name in PLANNED else f"unknown backend `{name}`"
        guess = None if name in PLANNED else did_you_mean(name, backends)
        raise UsageError([Diagnostic(code="E502", message=message,
                                     help=f"{guess + ' ' if guess else ''}available backends: {listed}")])
    module_name, _, attribute = backends[name].partition(":")
    backend = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(backend, Backend) or backend.name != name:
        raise UsageError([Diagnostic(code="E503", message=f"`{backends[name]}` is not a Backend named `{name}`")])
    return backend
