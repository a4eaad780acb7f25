"""IR values as the pipeline language writes them — names, strings, literals, conditions, checks — for the
`.spk` printer and for any message that quotes them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from typing_extensions import assert_never

from sparklec.ir import tasks as t
from sparklec.ir.values import format_duration

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = frozenset({"true", "false", "null", "not"})


def name(text: str) -> str:
    """A name, in backticks when it is not a plain identifier or is reserved."""
    if _NAME.fullmatch(text) and text not in _RESERVED:
        return text
    if "`" in text or "\n" in text or not text:
        raise ValueError(f"the name {text!r} cannot be written in .spk")
    return f"`{text}`"


def names(items: Iterable[str]) -> str:
    """Names, separated by commas."""
    return ", ".join(name(i) for i in items)


def string(text: str) -> str:
    """A string literal; text over several lines uses triple quotes when that is exact."""
    if "\n" in text and '"""' not in text and not text.endswith('"') and "\r" not in text:
        return f'"""{text}"""'
    return json.dumps(text, ensure_ascii=False)


def key(text: str) -> str:
    """A key of a map: bare when it is a name, else a string."""
    return text if _NAME.fullmatch(text) and text not in _RESERVED else string(text)


def literal(item: Any, bare_names: bool = False) -> str:
    """A value: strings quoted (or bare when `bare_names` and they are names), lists, maps, numbers."""
    if item is None:
        return "null"
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, (int, float)):
        return repr(item)
    if isinstance(item, str):
        return item if bare_names and _NAME.fullmatch(item) and item not in _RESERVED else string(item)
    if isinstance(item, (list, tuple)):
        return "[" + ", ".join(literal(v, bare_names) for v in item) + "]"
    if isinstance(item, dict):
        if not item:
            return "{}"
        return "{ " + ", ".join(f"{key(k)}: {literal(v, bare_names)}" for k, v in item.items()) + " }"
    raise TypeError(f"cannot print {item!r}")


def condition(cond: t.Condition, nested: bool = False) -> str:
    """A condition with the parentheses its nesting needs (and no others)."""
    match cond:
        case t.AllOf() | t.AnyOf():
            joiner = " and " if isinstance(cond, t.AllOf) else " or "
            text = joiner.join(condition(c, nested=True) for c in cond.conditions)
            return f"({text})" if nested else text
        case t.Not():
            return f"not {condition(cond.condition, nested=True)}"
        case t.IsSet():
            return f"{_operand(cond.operand)} is set"
        case t.Compare():
            return f"{_operand(cond.left)} {cond.op} {literal(cond.right)}"
        case _:
            assert_never(cond)


def _operand(operand: t.Operand) -> str:
    match operand:
        case t.ParamRef():
            return name(operand.name)
        case t.TaskResult():
            return f"{name(operand.task)}.{name(operand.field)}"
        case _:
            assert_never(operand)


def check_text(check: t.AnyCheck) -> str:
    """A check as written in a `check` task, e.g. ``not_null(id, email)``."""
    match check:
        case t.NotNull():
            return f"not_null({names(check.column_names)})"
        case t.Unique():
            return f"unique({names(check.column_names)})"
        case t.AcceptedValues():
            return f"accepted_values({name(check.column)}, [{', '.join(literal(v) for v in check.values)}])"
        case t.Relationships():
            return f"relationships({name(check.column)}, to: {name(check.to)}.{name(check.field)})"
        case t.MatchesRegex():
            return f"matches({name(check.column)}, {string(check.pattern)})"
        case t.EmailFormat():
            return f"email_format({name(check.column)})"
        case t.RowCount():
            bounds = {k: v for k, v in (("min", check.minimum), ("max", check.maximum)) if v is not None}
            return "row_count(" + ", ".join(f"{k}: {v}" for k, v in bounds.items()) + ")"
        case t.Freshness():
            return f"freshness({name(check.column)}, {format_duration(check.max_age)})"
        case t.CustomSqlCheck():
            return f"sql {name(check.name)} {string(check.sql)}"
        case _:
            assert_never(check)
