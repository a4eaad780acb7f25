"""User text with references: ``${name}`` (a parameter or loop variable) and ``${a.b}`` (a value a target
fills in, such as Argo's ``${workflow.status}``), read once into pieces that each backend renders its way."""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")


@attrs.frozen
class Ref:
    """``${name}`` in user text."""

    name: str

    @property
    def text(self) -> str:
        """The reference as written."""
        return "${" + self.name + "}"


def pieces(text: str) -> tuple[str | Ref, ...]:
    """`text` as literal strings and references, in order (no empty strings)."""
    parts = REFERENCE.split(text)
    return tuple(Ref(part) if index % 2 else part for index, part in enumerate(parts) if index % 2 or part)


def render(text: str, ref: Callable[[Ref], str | None]) -> str:
    """`text` with each reference replaced by `ref(reference)`, or kept as written where that is None."""
    rendered = []
    for piece in pieces(text):
        value = piece if isinstance(piece, str) else ref(piece)
        rendered.append(value if value is not None else piece.text if isinstance(piece, Ref) else "")
    return "".join(rendered)
