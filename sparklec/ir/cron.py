"""Five-field cron expressions: validation and the schedule names configs use."""

from __future__ import annotations

import re

_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    ("day of week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
_NAMED_SCHEDULES = {
    "@hourly": "0 * * * *", "hourly": "0 * * * *",
    "@daily": "0 0 * * *", "daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0", "weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *", "monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *", "yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
}
_ITEM = re.compile(r"^(\*|[A-Z0-9]+(?:-[A-Z0-9]+)?)(?:/(\d+))?$")


def expand_schedule_name(text: str) -> str:
    """``daily`` / ``@hourly`` → the equivalent cron expression; other text unchanged."""
    return _NAMED_SCHEDULES.get(text.strip().lower(), text)


def cron_problem(cron: str) -> str | None:
    """Why `cron` is not a valid 5-field cron expression, or None when it is."""
    fields = cron.split()
    if len(fields) != 5:
        return f"a cron expression has 5 fields (minute hour day month weekday), this one has {len(fields)}"
    for text, (label, low, high, names) in zip(fields, _FIELDS, strict=True):
        for item in text.upper().split(","):
            problem = _item_problem(item, low, high, names)
            if problem:
                return f"{label} field `{text}`: {problem}"
    return None


def _number(text: str) -> int | None:
    """The value of a cron number: at most four digits (more is no minute, hour, day or month)."""
    return int(text) if text.isdigit() and len(text) <= 4 else None


def _item_problem(item: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    match = _ITEM.fullmatch(item)
    if not match:
        return f"`{item}` is not a value, range, list or step"
    if match.group(2) is not None and _number(match.group(2)) in (None, 0):
        return "a step must be at least 1, and at most 9999"
    if match.group(1) == "*":
        return None
    bounds = []
    for part in match.group(1).split("-"):
        if part in names:
            bounds.append(names.index(part) + low)
        elif (value := _number(part)) is not None and low <= value <= high:
            bounds.append(value)
        else:
            return f"`{part}` is outside {low}-{high}"
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        return f"range `{item}` runs backwards"
    return None
