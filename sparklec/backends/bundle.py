"""What every backend's bundle has around its main files: a folder per pipeline, names the target accepts (with
notes on what was renamed), a deploy script and a README.

- `layout` puts each pipeline's files in the output root (one pipeline) or
  in a folder of its own, and gathers the notes.
- `Names` turns IR names into the target's names, unique and within its
  limit, and remembers every renaming for the README and note N401.
- `shell_script` writes a bash script with one preamble: usage, checked
  positional arguments, `set -euo pipefail`, ``$here``.
- `Readme` builds Markdown with user text escaped where it could break the
  layout (table cells, inline code).
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Callable, Iterable, Sequence

import attrs

from sparklec.backends import Artifacts
from sparklec.diagnostics import Diagnostic, Severity, Span
from sparklec.lowering import ExecutionPlan


def layout(plans: Sequence[ExecutionPlan],
           files_of: Callable[[ExecutionPlan], tuple[dict[str, str], list[Diagnostic]]]) -> Artifacts:
    """The files `files_of` gives each plan: in the root for one pipeline, else under ``<pipeline>/``."""
    artifacts = Artifacts()
    for plan in plans:
        folder = "" if len(plans) == 1 else f"{plan.pipeline}/"
        files, notes = files_of(plan)
        artifacts.update((folder + path, text) for path, text in files.items())
        artifacts.notes.extend(notes)
    return artifacts


class Names:
    """IR names → unique target names within one scope: `sanitise` makes a name acceptable (its result cut to
    `limit` characters); a name that then clashes with another, or is cut, ends with a short hash of the
    original."""

    def __init__(self, sanitise: Callable[[str], str], limit: int, reserved: Iterable[str] = (),
                 separator: str = "-"):
        self.sanitise, self.limit, self.separator = sanitise, limit, separator
        self.given: dict[str, str] = {}
        self.taken: set[str] = set(reserved)

    def __call__(self, name: str) -> str:
        if name in self.given:
            return self.given[name]
        label = self.sanitise(name)
        if len(label) > self.limit or label in self.taken:
            label = shorten(label, name, self.limit, self.separator)
        self.taken.add(label)
        self.given[name] = label
        return label

    def renamed(self) -> dict[str, str]:
        """Original → target name, for the names that changed."""
        return {k: v for k, v in self.given.items() if k != v}

    def note(self, pipeline: str, span: Span | None, what: str, news: Callable[[str, str], bool]) -> list[Diagnostic]:
        """N401 on the renamings `news` finds worth telling (`what`: "Kubernetes names"), if any."""
        renamed = {k: v for k, v in self.renamed().items() if news(k, v)}
        if not renamed:
            return []
        listed = ", ".join(f"{k} → {v}" for k, v in list(renamed.items())[:6]) + (", ..." if len(renamed) > 6 else "")
        return [Diagnostic(code="N401", severity=Severity.NOTE, span=span,
                           message=f"{len(renamed)} step name(s) of `{pipeline}` are not {what} and were renamed: "
                                   f"{listed}", help="the README lists every renaming")]


def digest(text: str) -> str:
    """Eight hex digits that tell `text` apart."""
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def shorten(label: str, original: str, limit: int, separator: str = "-") -> str:
    """`label` cut to end in `separator` and the `digest` of `original`, within `limit` characters."""
    return f"{label[: limit - 9].rstrip(separator)}{separator}{digest(original)}"


@attrs.frozen
class Argument:
    """A positional argument of a script, kept in `variable`: `choices` or `pattern` (a bash regular expression)
    check it, and `what` names it in the error; with a `default` it may be left out."""

    variable: str
    placeholder: str
    what: str
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    default: str | None = None

    @property
    def usage(self) -> str:
        shown = "|".join(c for c in self.choices if c) if self.choices else self.placeholder
        return shown if self.default is None else f"[{shown}]"

    @property
    def allowed(self) -> tuple[str, ...]:
        """The `choices`, and the `default` when there is one."""
        return (*self.choices, *(() if self.default is None or self.default in self.choices else (self.default,)))


def shell_script(purpose: str, arguments: Sequence[Argument], body: str, notes: Sequence[str] = (),
                 rest: str = "") -> str:
    """A bash script that checks its `arguments`, then runs `body` (``$here`` is the script's folder); `rest`
    describes the ``key=value`` arguments that may follow them (passed on as ``"$@"``; an optional argument is
    never one of them)."""
    required = [a for a in arguments if a.default is None]
    assert arguments[: len(required)] == required, "required arguments come first"
    usage = " ".join([a.usage for a in arguments] + ([f"[{rest}]"] if rest else []))
    lines = ["#!/usr/bin/env bash", f"# {purpose}", f"#   ./deploy.sh {usage}", *(f"# {n}" for n in notes),
             "set -euo pipefail", "", "usage() {", f'  echo "usage: $0 {usage}" >&2', "  exit 2", "}", ""]
    if required:
        lines.append(f'[ "$#" -ge {len(required)} ] || usage')
    if not rest:
        lines.append(f'[ "$#" -le {len(arguments)} ] || usage')
    for position, argument in enumerate(required, start=1):
        lines.append(f'{argument.variable}="${position}"')
    if rest and required:
        lines.append(f"shift {len(required)}")
    for position, argument in enumerate(arguments[len(required):], start=len(required) + 1):
        lines.append(f'{argument.variable}={shlex.quote(argument.default or "")}')
        if rest:
            lines.append(f'if [ "$#" -ge 1 ] && [[ "$1" != *=* ]]; then {argument.variable}="$1"; shift; fi')
        else:
            lines.append(f'if [ "$#" -ge {position} ]; then {argument.variable}="${position}"; fi')
    for argument in arguments:
        value = f"${argument.variable}"
        if argument.choices:
            lines += [f'case "{value}" in', f"  {'|'.join(shlex.quote(c) for c in argument.allowed)}) ;;",
                      f'  *) echo "unknown {argument.what}: {value}" >&2; usage ;;', "esac"]
        if argument.pattern:
            lines += [f'if ! [[ "{value}" =~ {argument.pattern} ]]; then',
                      f'  echo "not {argument.what}: {value}" >&2', "  usage", "fi"]
    lines += ["", 'here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"', body.rstrip("\n"), ""]
    return "\n".join(lines)


class Readme:
    """A Markdown README, built a block at a time."""

    def __init__(self, title: str, *intro: str):
        self.lines = [f"# {title}", ""]
        self.paragraph(*intro)

    def paragraph(self, *lines: str) -> Readme:
        if lines:
            self.lines += [*lines, ""]
        return self

    def section(self, title: str, *lines: str) -> Readme:
        self.lines += [f"## {title}", ""]
        return self.paragraph(*lines)

    def bullets(self, items: Iterable[str]) -> Readme:
        return self.paragraph(*(f"- {item}" for item in items))

    def table(self, header: Sequence[str], rows: Iterable[Sequence[str]]) -> Readme:
        """A table; cells are Markdown (wrap user text in `code` or `cell`)."""
        return self.paragraph("| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |",
                              *("| " + " | ".join(row) + " |" for row in rows))

    def code(self, language: str, *lines: str) -> Readme:
        return self.paragraph(f"```{language}", *lines, "```")

    def text(self) -> str:
        return "\n".join(self.lines)


def code(text: str) -> str:
    """`text` as inline code in a table cell: neither its backticks nor a `|` end it."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {cell(text)} {fence}" if len(fence) > 1 else f"`{cell(text)}`"


def cell(text: str) -> str:
    """User text in a table cell: on one line, `|` escaped."""
    return " ".join(text.split()).replace("|", "\\|")
