"""IR ↔ JSON: a stable dump for `--emit ir` and tools, and its exact inverse.

Every node becomes an object whose ``kind`` is its class name, followed by its
fields in declaration order; fields equal to their default and source spans
are left out, tuples become lists.  `from_json(to_json(x)) == x` for any IR.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from sparklec.ir import pipeline, policy, tasks, transformers, values

_MODULES = (pipeline, policy, tasks, values, transformers)
_BASES = (transformers.Op, transformers.WindowOp, transformers.RuleOp, tasks.Task, tasks.Check)
KINDS: dict[str, type] = {
    name: cls
    for module in _MODULES
    for name, cls in vars(module).items()
    if isinstance(cls, type) and attrs.has(cls) and cls.__module__.startswith("sparklec.ir")
    and not name.startswith("_") and cls not in _BASES
}
"""Class name → node class, for every concrete IR node."""


def to_data(node: Any) -> Any:
    """Plain JSON-ready data for an IR node or value."""
    if attrs.has(type(node)):
        data: dict[str, Any] = {"kind": type(node).__name__}
        for field in attrs.fields(type(node)):
            if not field.eq:  # source positions
                continue
            value = getattr(node, field.name)
            default = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = default.factory()
            if value == default and default is not attrs.NOTHING:
                continue
            data[field.name] = to_data(value)
        return data
    if isinstance(node, tuple):
        return [to_data(item) for item in node]
    return node


def from_data(data: Any) -> Any:
    """The IR node or value that `to_data` turned into `data`."""
    if isinstance(data, dict):
        cls = KINDS[data["kind"]]
        return cls(**{key: from_data(value) for key, value in data.items() if key != "kind"})
    if isinstance(data, list):
        return tuple(from_data(item) for item in data)
    return data


def to_json(node: Any) -> str:
    """A deterministic, indented JSON text for `node`."""
    return json.dumps(to_data(node), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def from_json(text: str) -> Any:
    return from_data(json.loads(text))
