"""One diagnostic type for every stage, rendered like a modern compiler.

A `Diagnostic` has a code (``E1xx`` input syntax and shape, ``E2xx`` meaning,
``E3xx`` passes, ``E4xx`` lowering, ``E5xx`` usage and output), a severity, a
message, an optional `Span` and an optional help line.  Stages collect many
diagnostics and raise them together in a `SparklecError` subclass.
"""

from __future__ import annotations

import difflib
import enum
import errno
import itertools
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs


@attrs.frozen(kw_only=True)
class Span:
    """A range in a source file; lines and columns are 1-based, the end is exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, file: str, line: int, column: int, length: int = 1) -> Span:
        """A span of `length` characters on one line."""
        return cls(file=file, line=line, column=column, end_line=line, end_column=column + length)

    @classmethod
    def at_end(cls, file: str, text: str) -> Span:
        """The point just after the last character of `text` that is not blank (where a file ends too early)."""
        lines = text.rstrip().splitlines() or [""]
        return cls.point(file, len(lines), len(lines[-1]) + 1)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def span_field() -> Span | None:
    """The `span` attribute of an IR node: optional, and never part of equality."""
    return attrs.field(default=None, eq=False, repr=False)  # type: ignore[no-any-return]


RefSpans = tuple[tuple[str, Span], ...]
"""Where a node names other things: (name, span) pairs, for diagnostics."""


def ref_spans_field() -> RefSpans:
    """The `ref_spans` attribute of an IR node: like `span`, never part of equality."""
    return attrs.field(default=(), eq=False, repr=False)


def ref_span(node: object, name: str) -> Span | None:
    """Where `node` names `name`, or else where `node` itself is."""
    for ref, span in getattr(node, "ref_spans", ()):
        if ref == name:
            return span  # type: ignore[no-any-return]
    return getattr(node, "span", None)


_QUOTED_VALUE = re.compile(r"`([^`]{160})[^`]{40,}`")


def _abridged(text: str) -> str:
    """`text` with every quoted value over 200 characters cut short (a message never repeats a huge input)."""
    return _QUOTED_VALUE.sub(lambda match: f"`{match.group(1)}…`", text) if len(text) > 200 else text


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@attrs.frozen(kw_only=True)
class Diagnostic:
    """A message about the input, with the place it concerns and how to fix it."""

    code: str
    message: str = attrs.field(converter=_abridged)
    span: Span | None = None
    help: str | None = attrs.field(default=None, converter=attrs.converters.optional(_abridged))
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def brief(self) -> str:
        """The diagnostic on one line: ``message [code]; help``."""
        return f"{self.message} [{self.code}]" + (f"; {self.help}" if self.help else "")

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
        }
        if self.span is not None:
            data["file"] = self.span.file
            data["line"] = self.span.line
            data["column"] = self.span.column
            data["end_line"] = self.span.end_line
            data["end_column"] = self.span.end_column
        if self.help:
            data["help"] = self.help
        return data


class SparklecError(Exception):
    """Raised by any stage with the diagnostics that stopped it."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        self.sources: dict[str, str] = {}
        """Texts of sources that are not files (name → text), so that `str` can quote them."""
        super().__init__("\n".join(f"{d.code}: {d.message}" for d in self.diagnostics))

    def __str__(self) -> str:
        """The diagnostics as the command line prints them: place, quoted line, what is wrong, how to fix it."""
        return render(self.diagnostics, "text", SourceCache(self.sources))


class FrontendError(SparklecError):
    """The input could not be read or does not have the expected shape."""


class VerifyError(SparklecError):
    """The IR is well-formed but means something impossible."""


class PassError(SparklecError):
    """An optimisation pass could not run."""


class LoweringError(SparklecError):
    """A backend cannot express the IR."""


class UsageError(SparklecError):
    """The command line is wrong, or names something that cannot be used (exit code 2)."""


class OutputError(SparklecError):
    """A file or folder cannot be read or written, or sparklec refuses to replace it."""


_OS_HELP = {
    errno.EACCES: "check the permissions of that path and of the folders above it",
    errno.EPERM: "check the permissions of that path and of the folders above it",
    errno.EROFS: "that filesystem is read-only: choose a place on a writable one",
    errno.ENOSPC: "the disk is full: free some space and run again (nothing was replaced)",
    errno.EDQUOT: "the disk quota is used up: free some space and run again (nothing was replaced)",
    errno.ENOTDIR: "a part of that path is a file, not a folder",
    errno.EISDIR: "that path is a folder: give a file",
    errno.ENOENT: "a folder above it does not exist",
    errno.ENAMETOOLONG: "a name in that path is too long: shorten it",
    errno.EBUSY: "it is in use or a mount point: choose a folder inside it",
    errno.ELOOP: "symbolic links there point in a loop",
    errno.EXDEV: "it crosses filesystems: choose a folder on the same one",
}


def os_error(error: OSError, action: str) -> Diagnostic:
    """E520: the operating system refused to `action` a path (its reason and what to do)."""
    where = error.filename if error.filename is not None else None
    reason = error.strerror or str(error)
    place = f" `{where}`" if where else ""
    return Diagnostic(code="E520", message=f"cannot {action}{place}: {reason}",
                      help=_OS_HELP.get(error.errno or 0))


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A help line naming the closest of `choices` to `word`, if any is close."""
    matches = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None


def raise_if_errors(diagnostics: Sequence[Diagnostic], error: type[SparklecError]) -> None:
    """Raise `error` when any diagnostic is an error (warnings travel along)."""
    if any(d.is_error for d in diagnostics):
        raise error(diagnostics)


_READ_WHOLE = 4 * 1024 * 1024
"""Files larger than this are not read whole to quote a line of them."""


class SourceCache:
    """Reads source files once so that rendering can quote their lines."""

    def __init__(self, texts: dict[str, str] | None = None):
        self._texts = dict(texts or {})

    def add(self, file: str, text: str) -> None:
        self._texts[file] = text

    def line(self, file: str, number: int) -> str | None:
        if file not in self._texts:
            try:
                if Path(file).stat().st_size > _READ_WHOLE:  # a huge file is not held, only walked to the line
                    with open(file, encoding="utf-8", errors="replace") as stream:
                        return next(itertools.islice(stream, number - 1, None), "").rstrip("\n") or None
                self._texts[file] = Path(file).read_text(encoding="utf-8", errors="replace")
            except OSError:
                return None
        lines = self._texts[file].splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else None


_QUOTED = 120
"""The most characters of a source line a diagnostic quotes."""


def render_text(diagnostic: Diagnostic, sources: SourceCache) -> str:
    """Render one diagnostic with the quoted source line and a caret."""
    out = [f"{diagnostic.severity.value}[{diagnostic.code}]: {diagnostic.message}"]
    span = diagnostic.span
    if span is not None:
        gutter = " " * len(str(span.line))
        out.append(f"{gutter}--> {span}")
        source_line = sources.line(span.file, span.line)
        if source_line is not None:
            column = span.column
            source_line = source_line.expandtabs(1)
            width = span.end_column - span.column if span.end_line == span.line else 1
            width = max(1, min(width, len(source_line) - span.column + 1, _QUOTED - 20))
            if len(source_line) > _QUOTED:  # a window around the caret
                start = max(0, min(column - 1 - 20, len(source_line) - _QUOTED))
                source_line = ("…" if start else "") + source_line[start:start + _QUOTED] \
                    + ("…" if start + _QUOTED < len(source_line) else "")
                column -= start - (1 if start else 0)
            out.append(f"{gutter} |")
            out.append(f"{span.line} | {source_line}")
            out.append(f"{gutter} | {' ' * (column - 1)}{'^' * width}")
    if diagnostic.help:
        indent = " " * (len(str(span.line)) if span else 0)
        out.append(f"{indent} = help: {diagnostic.help}")
    return "\n".join(out)


def render(diagnostics: Sequence[Diagnostic], fmt: str, sources: SourceCache) -> str:
    """Render diagnostics as ``text`` (for people) or ``json`` (for tools)."""
    if fmt == "json":
        return json.dumps([d.to_json() for d in diagnostics], indent=2, ensure_ascii=False)
    return "\n\n".join(render_text(d, sources) for d in diagnostics)
