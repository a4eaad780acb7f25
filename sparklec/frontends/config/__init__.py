"""The Sparkle config frontend: JSON/YAML configs → IR pipelines and projects.

`load_config` reads one config; `load_project` reads files and directories
of configs as one project whose `dependencies` link the pipelines.  Every
problem is a positioned diagnostic; errors raise `FrontendError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from sparklec.diagnostics import Diagnostic, FrontendError, Severity, did_you_mean, raise_if_errors
from sparklec.frontends.config import layers, operations  # noqa: F401  (register the pipeline types)
from sparklec.frontends.config.expand import COMMON_EXTRA, COMMON_FIELDS, PIPELINE_TYPES, Expansion
from sparklec.frontends.config.extra import EXTRA_CONFIG_KEYS
from sparklec.frontends.config.fields import SparkleConfig, read_config
from sparklec.frontends.config.substitute import substitute
from sparklec.frontends.documents import load_document
from sparklec.ir.pipeline import Pipeline
from sparklec.ir.transformers import AUDIT_COLUMNS, AddAuditColumns

CONFIG_SUFFIXES = (".json", ".yaml", ".yml")


def load_config(
    text: str, file: str, *, env: str | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Pipeline, list[Diagnostic]]:
    """One config as a pipeline, with the warnings found on the way."""
    report: list[Diagnostic] = []
    document = substitute(load_document(text, file), os.environ if environ is None else environ, report)
    raise_if_errors(report, FrontendError)
    config = read_config(document, report, env)
    raise_if_errors(report, FrontendError)
    assert config is not None
    kind = PIPELINE_TYPES[config.pipeline_type]
    for field in kind.required:
        config.reader.require(field, f" for pipeline type `{config.pipeline_type}`")
    raise_if_errors(report, FrontendError)
    _report_unused(config, kind.fields, kind.extra, report)
    expansion = Expansion(config, report)
    steps = kind.build(expansion)
    pipeline = expansion.pipeline(steps)
    raise_if_errors(report, FrontendError)
    return pipeline, report


def _report_unused(config: SparkleConfig, fields: tuple[str, ...], extra: tuple[str, ...],
                   report: list[Diagnostic]) -> None:
    used = {*COMMON_FIELDS, *fields}
    for field in config.reader.keys():
        if field not in used:
            report.append(Diagnostic(
                code="W102", severity=Severity.WARNING, span=config.reader.key_span(field),
                message=f"`{field}` is not used by pipeline type `{config.pipeline_type}` (ignored)",
                help="remove it, or choose the pipeline type that needs it",
            ))
    used_extra = {*COMMON_EXTRA, *extra}
    for key in config.extra.keys():
        if key in used_extra:
            continue
        known = key in EXTRA_CONFIG_KEYS
        report.append(Diagnostic(
            code="W102" if known else "W101", severity=Severity.WARNING, span=config.extra.key_span(key),
            message=f"`extra_config.{key}` is {'not used by pipeline type `' + config.pipeline_type + '`' if known else 'not a key sparklec knows'} (ignored)",
            help=None if known else did_you_mean(key, used_extra) or "see the list of extra_config keys in the README",
        ))
    watermark = config.get("watermark_column")
    if watermark in AUDIT_COLUMNS and any(
        isinstance(op, AddAuditColumns) and not op.overwrite for op in config.transformers
    ):
        op = next(op for op in config.transformers if isinstance(op, AddAuditColumns))
        report.append(Diagnostic(
            code="W103", severity=Severity.WARNING, span=op.span,
            message=f"`add_audit_columns` sets `{watermark}`, the watermark column, to the current time",
            help="incremental loads would then track load time, not source changes; declare "
            "`extra_config.source_columns` to have this checked, rename the watermark, or set `overwrite: true`",
        ))
