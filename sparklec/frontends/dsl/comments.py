"""Where `sparklec fmt` puts the comments of a `.spk` file: each stays by the code it was written beside.

A comment on a line of its own is printed before the first node that starts
on or after its line.  A comment after code stays at the end of that code's
line: at the end of its node's line when a node starts there, else at the
end of the printed line that reads as that code did (``defaults {``,
``env prod``, ``mode merge``), found from the nearest node before it on.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import attrs


@attrs.frozen
class Comment:
    """A comment of the source: its `line`, its `text` (from ``#``), and the `code` before it on its line
    (empty for a comment on a line of its own)."""

    line: int
    text: str
    code: str = ""

    @property
    def trailing(self) -> bool:
        """Whether code comes before it on its line."""
        return bool(self.code)


Attached = dict[int | None, list[tuple[str, bool]]]
"""Comments by the line of the node they are printed with (None: after everything), each with whether it goes at
the end of the node's line."""


def attach(comments: Sequence[Comment], anchors: list[int]) -> tuple[Attached, list[Comment]]:
    """The comments printed with the nodes starting on the `anchors` lines, and the trailing comments of lines
    where no node starts (placed by `place_trailing` once the text is printed)."""
    attached: Attached = {}
    loose: list[Comment] = []
    for comment in comments:
        index = bisect.bisect_left(anchors, comment.line)
        anchor = anchors[index] if index < len(anchors) else None
        if comment.trailing and anchor != comment.line:
            loose.append(comment)
        else:
            attached.setdefault(anchor, []).append((comment.text, comment.trailing))
    return attached, loose


def place_trailing(lines: list[str], loose: Sequence[Comment], printed: dict[int, int]) -> list[str]:
    """`lines` with each `loose` comment at the end of the line that reads as its code did, searched from the
    printed line of the last node starting before it (`printed`: source line → index in `lines`); a comment
    whose code is not found goes on a line of its own before the next node."""
    placed = list(lines)
    inserted: list[tuple[int, str]] = []
    starts = sorted(printed)
    floor = 0
    for comment in loose:
        before = bisect.bisect_right(starts, comment.line)
        start = max(floor, printed[starts[before - 1]] if before else 0)
        wanted = _normal(comment.code)
        found = next((i for i in range(start, len(placed)) if _normal(placed[i]) == wanted), None)
        if found is None:
            at = printed[starts[before]] if before < len(starts) else max(len(placed) - 1, 0)
            inserted.append((at, comment.text))
            continue
        placed[found] += "  " + comment.text
        floor = found + 1
    for _, (at, text) in sorted(enumerate(inserted), key=lambda item: (item[1][0], item[0]), reverse=True):
        indent = len(placed[at]) - len(placed[at].lstrip()) if placed else 0
        placed.insert(at, " " * indent + text)
    return placed


def _normal(code: str) -> str:
    return " ".join(code.split())
