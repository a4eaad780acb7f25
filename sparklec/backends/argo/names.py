"""Kubernetes names: RFC 1123 labels (lower-case letters, digits and `-`, at most 63 characters); and user text
kept literal where Argo substitutes `{{...}}`.

IR names become Kubernetes names by lower-casing and replacing other
characters with `-`; a name that would then clash with another, or is too
long, gets a short hash of the original.  Every renaming is kept, so the
compiler can report it and the README can list it.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 63


def sanitise(name: str, limit: int = MAX_NAME) -> str:
    """`name` as an RFC 1123 label (not yet made unique)."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not label or not label[0].isalpha():
        label = f"x-{label}".rstrip("-")
    if len(label) > limit:
        label = label[: limit - 9].rstrip("-") + "-" + _digest(name)
    return label


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


class Names:
    """IR names → unique Kubernetes names within one scope, remembering what was renamed."""

    def __init__(self, reserved: tuple[str, ...] = (), limit: int = MAX_NAME):
        self.limit = limit
        self.given: dict[str, str] = {}
        self.taken: set[str] = set(reserved)

    def __call__(self, name: str) -> str:
        if name in self.given:
            return self.given[name]
        label = sanitise(name, self.limit)
        if label in self.taken:
            label = sanitise(f"{label[: self.limit - 9]}-{_digest(name)}", self.limit)
        self.taken.add(label)
        self.given[name] = label
        return label

    def renamed(self) -> dict[str, str]:
        """Original → Kubernetes name, for the names that changed."""
        return {k: v for k, v in self.given.items() if k != v}


_LITERAL_BRACES = "{{='{' + '{'}}"
"""An Argo expression that renders to ``{{`` (with no ``{{`` inside, which Argo would try to substitute)."""


def literal(text: str) -> str:
    """User text in a field Argo substitutes: each ``{{`` written as an expression that renders to ``{{``."""
    return text.replace("{{", _LITERAL_BRACES)
