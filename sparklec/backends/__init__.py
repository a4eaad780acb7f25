"""Backends: lowering the IR to deployable files.

Writing a backend
-----------------
A backend is a pure function of the verified, optimised IR::

    def lower(project: Project, options: Mapping[str, str]) -> Artifacts

It returns `Artifacts` — relative path → file text — and does no I/O: the
driver checks the paths and writes the files atomically.  Options come from
``--option key=value`` on the command line.  An unknown option, or IR the
target cannot express, is reported by raising `LoweringError` with
diagnostics.  The smallest complete backend::

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
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points

import attrs

from sparklec.compiler.diagnostics import Diagnostic, UsageError
from sparklec.ir.pipeline import Project

Artifacts = dict[str, str]
"""Generated files: a relative path (``/``-separated) → its text."""


@attrs.frozen
class Backend:
    """A named target: `lower(project, options) -> Artifacts`."""

    name: str
    description: str
    lower: Callable[[Project, Mapping[str, str]], Artifacts]


BUILTIN: dict[str, str] = {
    "dbt": "sparklec.backends.dbt:backend",
}
"""Backend name → ``module:attribute`` of its `Backend`, imported on first use."""

ENTRY_POINT_GROUP = "sparklec.backends"


def available() -> dict[str, str]:
    """Every backend name → where it comes from (``module:attribute``)."""
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


def get_backend(name: str) -> Backend:
    """The backend called `name`; an unknown name lists the available ones."""
    backends = available()
    if name not in backends:
        listed = ", ".join(backends) or "none are installed"
        raise UsageError([Diagnostic(code="E502", message=f"unknown backend `{name}`",
                                     help=f"available backends: {listed}")])
    module_name, _, attribute = backends[name].partition(":")
    backend = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(backend, Backend) or backend.name != name:
        raise UsageError([Diagnostic(code="E503", message=f"`{backends[name]}` is not a Backend named `{name}`")])
    return backend
