"""sparklec: compile data pipelines, described once, for several orchestrators.

    from sparklec import Pipeline

    pipeline = Pipeline.get("customer_etl", env="prod")
    pipeline.build()
    pipeline.deploy(orchestrator="stepfunctions")

`Pipeline` finds, builds and deploys pipelines; `compile` returns the files
for a backend in memory; failures raise `SparklecError` (or one of its
subclasses) carrying the diagnostics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from sparklec.api import Graph, Pipeline, compile
    from sparklec.backends import Artifacts
    from sparklec.diagnostics import (
        Diagnostic, FrontendError, LoweringError, PassError, Severity, SparklecError, UsageError, VerifyError,
    )
    from sparklec.ir.pipeline import ENVS

__all__ = [
    "ENVS", "Artifacts", "Diagnostic", "FrontendError", "Graph", "LoweringError", "PassError", "Pipeline",
    "Severity", "SparklecError", "UsageError", "VerifyError", "__version__", "compile",
]

_EXPORTS = {
    "Pipeline": "sparklec.api", "Graph": "sparklec.api", "compile": "sparklec.api",
    "Artifacts": "sparklec.backends", "ENVS": "sparklec.ir.pipeline",
    **dict.fromkeys(("Diagnostic", "Severity", "SparklecError", "FrontendError", "VerifyError", "PassError",
                     "LoweringError", "UsageError"), "sparklec.diagnostics"),
}


def __getattr__(name: str) -> Any:
    """The public API, imported on first use (so that `sparklec --help` stays fast)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sparklec' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
