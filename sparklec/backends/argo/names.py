"""Kubernetes names: RFC 1123 labels (lower-case letters, digits and `-`, at most 63 characters); and user text
kept literal where Argo substitutes `{{...}}`.

IR names become Kubernetes names by lower-casing and replacing other
characters with `-`; a name that is too long gets a short hash of the
original (`bundle.Names` makes them unique and remembers every renaming).
"""

from __future__ import annotations

import re

from sparklec.backends.bundle import shorten

MAX_NAME = 63


def sanitise(name: str, limit: int = MAX_NAME) -> str:
    """`name` as an RFC 1123 label (not yet made unique)."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not label or not label[0].isalpha():
        label = f"x-{label}".rstrip("-")
    if len(label) > limit:
        label = shorten(label, name, limit)
    return label


_LITERAL_BRACES = "{{='{' + '{'}}"
"""An Argo expression that renders to ``{{`` (with no ``{{`` inside, which Argo would try to substitute)."""


def literal(text: str) -> str:
    """User text in a field Argo substitutes: each ``{{`` written as an expression that renders to ``{{``."""
    return text.replace("{{", _LITERAL_BRACES)
