"""The pass pipeline: small named passes, each `run(project) -> project`.

`PassPipeline` verifies the IR after every pass (a pass that breaks the IR is
a bug reported as a `PassError`) and can hand the IR after any pass to a
callback, which the CLI uses for ``--print-ir-after``.  A pass that also has
`notes(before, after)` says what its rewrite cost; the pipeline hands those
to its `report` callback.  Every compile runs `default_passes`; a backend
declares the further passes it needs (`Backend.passes`), which the driver
runs after them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from sparklec.diagnostics import Diagnostic, PassError
from sparklec.ir.pipeline import Project
from sparklec.ir.verify import verify


class Pass(Protocol):
    """An IR-to-IR rewrite with a kebab-case `name` (also its module's name)."""

    name: str

    def run(self, project: Project) -> Project: ...


@runtime_checkable
class Noting(Pass, Protocol):
    """A pass that says what its rewrite cost: notes and warnings computed from the IR before and after it."""

    def notes(self, before: Project, after: Project) -> list[Diagnostic]: ...


class PassPipeline:
    """Runs passes in order, verifying after each; `after_pass` gets the IR after each pass, `report` the
    notes of the passes that have them."""

    def __init__(self, passes: Sequence[Pass], after_pass: Callable[[str, Project], None] | None = None,
                 report: Callable[[list[Diagnostic]], None] | None = None):
        self.passes = tuple(passes)
        self.after_pass = after_pass
        self.report = report

    def run(self, project: Project) -> Project:
        for pass_ in self.passes:
            before, project = project, pass_.run(project)
            errors = [d for d in verify(project) if d.is_error]
            if errors:
                raise PassError([
                    Diagnostic(code="E301", message=f"the IR is invalid after pass `{pass_.name}`: {d.message}",
                               span=d.span, help="this is a bug in sparklec; please report it with the input")
                    for d in errors
                ])
            if self.report is not None and isinstance(pass_, Noting):
                self.report(pass_.notes(before, project))
            if self.after_pass is not None:
                self.after_pass(pass_.name, project)
        return project


def default_passes() -> list[Pass]:
    """The passes every compile runs, in order."""
    from sparklec.compiler.passes.drop_redundant_after import DropRedundantAfter
    from sparklec.compiler.passes.fuse_transforms import FuseTransforms
    from sparklec.compiler.passes.isolate_environments import IsolateEnvironments

    return [IsolateEnvironments(), FuseTransforms(), DropRedundantAfter()]
