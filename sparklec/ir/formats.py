"""The forms user values must have before any backend writes them: time zones, resource quantities, tag values
and Kubernetes manifests.  Each function says what is wrong with a value, or None."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import yaml

_QUANTITY = re.compile(r"(?:\d+(?:\.\d+)?|\.\d+)(?:m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e\d+)?")
_TAG_VALUE = re.compile(r"[\w .:/=+\-@]*")
MAX_TAG_VALUE = 256
_MANIFEST_DEPTH = 100


@cache
def _time_zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def time_zone_problem(name: str) -> str | None:
    """Why `name` is not an IANA time zone (such as ``Europe/Paris``)."""
    return None if name in _time_zones() else f"`{name}` is not an IANA time zone name"


def quantity_problem(value: str) -> str | None:
    """Why `value` is not a Kubernetes quantity (``2``, ``500m``, ``4Gi``)."""
    return None if _QUANTITY.fullmatch(value) else f"`{value}` is not a quantity such as `2`, `500m` or `4Gi`"


def tag_value_problem(value: str) -> str | None:
    """Why `value` cannot be a tag value on every target (AWS allows letters, digits, spaces and ``_.:/=+-@``,
    at most 256 characters)."""
    if len(value) > MAX_TAG_VALUE:
        return f"a tag value is at most {MAX_TAG_VALUE} characters"
    return None if _TAG_VALUE.fullmatch(value) else \
        f"`{value}` has characters a tag value may not have (letters, digits, spaces and `_.:/=+-@` only)"


def manifest_problem(text: str) -> str | None:
    """Why `text` is not one Kubernetes object in YAML: a mapping with `apiVersion` and `kind`, without
    aliases, tags or nesting deeper than 100 levels (so that reading it costs what its size says)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                return "it uses a YAML alias (`*name`); write the values out"
            tag = getattr(event, "tag", None)
            if tag not in (None, "!"):
                return f"it has a YAML tag (`{tag}`)"
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > _MANIFEST_DEPTH:
                    return f"it nests more than {_MANIFEST_DEPTH} levels deep"
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
        manifest: Any = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as error:
        return f"it is not YAML ({str(error).splitlines()[0]})"
    if not isinstance(manifest, dict) or not {"apiVersion", "kind"} <= set(manifest):
        return "it is not a Kubernetes object: a mapping with `apiVersion` and `kind`"
    if not all(isinstance(manifest[key], str) for key in ("apiVersion", "kind")) or \
            not isinstance(manifest.get("metadata", {}), dict):
        return "its `apiVersion` and `kind` must be text, and its `metadata` a mapping"
    return None
