"""``${VAR}`` and ``${VAR:default}`` substitution from the environment.

A string that is exactly one reference takes the variable's text; references
inside longer strings are replaced in place.  ``$${`` writes a literal ``${``.
A variable that is unset and has no default is an error at its position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from sparklec.diagnostics import Diagnostic, Span
from sparklec.frontends.documents import Located

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")
_MALFORMED = re.compile(r"(?<!\$)\$\{(?![A-Za-z_][A-Za-z0-9_]*(?::[^}]*)?\})")


def substitute(node: Located, environ: Mapping[str, str], report: list[Diagnostic]) -> Located:
    """`node` with every reference in its strings (not its keys) replaced."""
    value = node.value
    if isinstance(value, dict):
        return attrs.evolve(node, value={
            key: (key_span, substitute(child, environ, report)) for key, (key_span, child) in value.items()
        })
    if isinstance(value, list):
        return attrs.evolve(node, value=[substitute(child, environ, report) for child in value])
    if isinstance(value, str) and "${" in value:
        return attrs.evolve(node, value=_substitute_text(value, node.span, environ, report))
    return node


def _substitute_text(text: str, span: Span, environ: Mapping[str, str], report: list[Diagnostic]) -> str:
    malformed = _MALFORMED.search(text)
    if malformed:
        report.append(Diagnostic(
            code="E107", message=f"malformed variable reference in {text!r}", span=span,
            help="write `${NAME}` or `${NAME:default}`; NAME is letters, digits and `_`",
        ))
        return text

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        report.append(Diagnostic(
            code="E108", message=f"environment variable `{name}` is not set", span=span,
            help=f"set it, or give a default: `${{{name}:value}}`",
        ))
        return match.group(0)

    return _REFERENCE.sub(replace, text)
