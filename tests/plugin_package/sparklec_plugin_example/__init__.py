"""A backend shipped by another package: each pipeline's IR as a JSON file."""

from __future__ import annotations

from collections.abc import Mapping

from sparklec.backends import Artifacts, Backend
from sparklec.diagnostics import Diagnostic, LoweringError
from sparklec.ir import Project
from sparklec.ir.serialize import to_json


def lower(project: Project, options: Mapping[str, str]) -> Artifacts:
    unknown = sorted(set(options) - {"fail"})
    if unknown or options.get("fail"):
        raise LoweringError([Diagnostic(code="E401", message=f"unsupported options {unknown or ['fail']}")])
    return {f"{p.name}.json": to_json(p) for p in project.pipelines}


backend = Backend(name="ir-json", description="each pipeline's IR as JSON", lower=lower)
