"""How big and how deep an input may be: the limits every frontend enforces, as positioned E14x diagnostics.

A pipeline file is read whole and checked before anything is built from it,
so no input makes sparklec run out of time, stack or memory: a file is at
most `MAX_FILE_BYTES` (a `.spk` file) or `MAX_CONFIG_BYTES` (a JSON or YAML config), nests at most `MAX_DEPTH` levels, YAML aliases expand
to at most `MAX_ALIAS_VALUES` values and never refer to themselves, a string
is at most `MAX_STRING` characters of text (no NUL or other control
characters but tab and line breaks, no lone surrogates), and a number is at
most `MAX_NUMBER_CHARS` characters and finite.
"""

from __future__ import annotations

import math
import re

from sparklec.diagnostics import Diagnostic, FrontendError, Span

MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_CONFIG_BYTES = 1024 * 1024
MAX_DEPTH = 100
MAX_ALIAS_VALUES = 10_000
MAX_STRING = 64 * 1024
MAX_NUMBER_CHARS = 50

_BAD_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_NAMES = {"\x00": "a NUL character", "\x7f": "a DEL character"}


def text_problem(text: str) -> str | None:
    """Why `text` cannot be a string of a pipeline (None: it can)."""
    if len(text) > MAX_STRING:
        return f"the text is {len(text):,} characters long; the most is {MAX_STRING:,}"
    bad = _BAD_CHARACTER.search(text)
    if bad is None:
        return None
    char = bad.group()
    what = _NAMES.get(char) or ("a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character")
    return f"the text holds {what} (U+{ord(char):04X}) at character {bad.start() + 1}"


def number_problem(value: object) -> str | None:
    """Why `value` (a number, or its text) cannot be a number of a pipeline (None: it can)."""
    if isinstance(value, str):
        return f"the number has {len(value):,} characters; the most is {MAX_NUMBER_CHARS}" \
            if len(value) > MAX_NUMBER_CHARS else None
    if isinstance(value, float) and not math.isfinite(value):
        return "the number is too large"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** MAX_NUMBER_CHARS:
        return f"the number has more than {MAX_NUMBER_CHARS} digits"
    return None


_HELP = {
    "E140": f"split the pipelines over several files: a .spk file holds at most {MAX_FILE_BYTES >> 20} MB, a "
            f"config {MAX_CONFIG_BYTES >> 20} MB",
    "E141": f"nest at most {MAX_DEPTH} levels deep",
    "E142": f"a string holds at most {MAX_STRING:,} characters of text: no NUL or other control characters but "
            "tab and line breaks, and no lone surrogates",
    "E143": f"write a number of at most {MAX_NUMBER_CHARS} characters",
    "E144": f"write the values out, or use aliases that expand to at most {MAX_ALIAS_VALUES:,} values",
}


def limit_error(code: str, message: str, span: Span) -> FrontendError:
    """A `FrontendError` for input over a limit, with the help that says what the limit is."""
    return FrontendError([Diagnostic(code=code, message=message, span=span, help=_HELP[code])])


def check_size(size: int, file: str) -> None:
    """Raise E140 when a file of `size` bytes is too large to be read as a pipeline."""
    most = MAX_FILE_BYTES if file.endswith(".spk") else MAX_CONFIG_BYTES
    if size > most:
        raise limit_error("E140", f"the file is {size:,} bytes; the most is {most:,}", Span.point(file, 1, 1))


def check_text(text: str, span: Span) -> None:
    """Raise E142 when `text` cannot be a string of a pipeline."""
    problem = text_problem(text)
    if problem:
        raise limit_error("E142", problem, span)


def check_number(value: object, span: Span) -> None:
    """Raise E143 when `value` cannot be a number of a pipeline."""
    problem = number_problem(value)
    if problem:
        raise limit_error("E143", problem, span)


def too_deep(span: Span) -> FrontendError:
    """E141: the input nests deeper than `MAX_DEPTH` at `span`."""
    return limit_error("E141", f"this nests more than {MAX_DEPTH} levels deep", span)
