"""Fitting a WorkflowTemplate into one Kubernetes object (etcd holds at most about 1.5 MB).

A template too big is split: DAGs with more tasks than fit become DAGs of
sub-DAGs, cut in the DAG's topological order (a sub-DAG waits for every
sub-DAG holding one of its tasks' dependencies, so every dependency is
kept; parallelism across a cut is lost), and templates move to further
WorkflowTemplates (`<name>-part-<n>`), which the tasks that use them reach
with `templateRef`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sparklec.backends.argo.names import sanitise

MAX_OBJECT_BYTES = 1_000_000
"""The most one manifest may hold (etcd's request limit is 1.5 MiB; kubectl and Argo add to it)."""
PART_BYTES = 600_000
"""About how big a part is made."""
KEPT = ("main", "exit-handler")
"""Templates that stay in the WorkflowTemplate users submit."""


def size(value: Any) -> int:
    """About how many bytes `value` takes in a manifest (its JSON, which is quicker to measure)."""
    return len(json.dumps(value).encode())


def split(name: str, spec: dict[str, Any], budget: int = PART_BYTES) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`spec` with its DAGs and templates spread over itself and the specs of parts of at most about
    `budget` bytes each (named ``<name>-part-<n>``, in that order)."""
    templates: list[dict[str, Any]] = []
    taken = {t["name"] for t in spec["templates"]}
    for template in spec["templates"]:
        templates.extend(_cut(template, budget, taken))
    kept = [t for t in templates if t["name"] in KEPT]
    parts: list[list[dict[str, Any]]] = [[]]
    used = 0
    for template in (t for t in templates if t["name"] not in KEPT):
        weight = size(template)
        if parts[-1] and used + weight > budget:
            parts.append([])
            used = 0
        parts[-1].append(template)
        used += weight
    names = [sanitise(f"{name}-part-{index}") for index in range(1, len(parts) + 1)]
    owner = {t["name"]: part for part, group in zip(names, parts, strict=True) for t in group}
    owner.update((t["name"], name) for t in kept)
    for document, group in ((name, kept), *zip(names, parts, strict=True)):
        for template in group:
            _refer(template, document, owner)
    return {**spec, "templates": kept}, [{"templates": group} for group in parts]


def _refer(template: dict[str, Any], document: str, owner: dict[str, str]) -> None:
    """Tasks of `template` (in `document`) reach templates of other documents with `templateRef`."""
    tasks = template.get("dag", {}).get("tasks", []) + [s for group in template.get("steps", []) for s in group]
    for task in tasks:
        target = task.get("template")
        if target is not None and owner[target] != document:
            del task["template"]
            task["templateRef"] = {"name": owner[target], "template": target}


def _cut(template: dict[str, Any], budget: int, taken: set[str]) -> list[dict[str, Any]]:
    """`template`, and when its DAG is over `budget`, the sub-DAGs it is cut into."""
    tasks = template.get("dag", {}).get("tasks", [])
    if not tasks or size(template) <= budget:
        return [template]
    index = {task["name"]: i for i, task in enumerate(tasks)}
    earliest = [min([i, *(index[n] for n in _references(task) if n in index)]) for i, task in enumerate(tasks)]
    for i in range(len(tasks) - 2, -1, -1):  # the earliest task any task from i on refers to
        earliest[i] = min(earliest[i], earliest[i + 1])
    chunks: list[list[dict[str, Any]]] = [[]]
    used = 0
    for i, task in enumerate(tasks):
        weight = size(task)
        if chunks[-1] and used + weight > budget and earliest[i] >= i:
            chunks.append([])
            used = 0
        chunks[-1].append(task)
        used += weight
    if len(chunks) in (1, len(tasks)):  # nothing to gain: one chunk, or every task alone over the budget
        return [template]
    chunk_of = {task["name"]: k for k, chunk in enumerate(chunks) for task in chunk}
    sub_names = [_unique(f"{template['name']}-{k + 1}", taken) for k in range(len(chunks))]
    inputs = [p["name"] for p in template.get("inputs", {}).get("parameters", [])]
    subs, group_tasks = [], []
    for k, chunk in enumerate(chunks):
        sub_name = sub_names[k]
        waits = sorted({chunk_of[d] for task in chunk for d in _depends(task) if chunk_of[d] != k})
        inner = []
        for task in chunk:
            inner_depends = [d for d in _depends(task) if chunk_of[d] == k]
            task = {key: value for key, value in task.items() if key != "depends"}
            if inner_depends:
                task["depends"] = " && ".join(inner_depends)
            inner.append(task)
        sub: dict[str, Any] = {"name": sub_name, **({"inputs": template["inputs"]} if inputs else {}),
                               "dag": {**template["dag"], "tasks": inner}}
        subs.extend(_cut(sub, budget, taken))
        group: dict[str, Any] = {"name": sub_name, "template": sub_name}
        if waits:
            group["depends"] = " && ".join(sub_names[w] for w in waits)
        if inputs:
            group["arguments"] = {"parameters": [{"name": v, "value": "{{inputs.parameters." + v + "}}"}
                                                 for v in inputs]}
        group_tasks.append(group)
    whole = {**template, "dag": {**template["dag"], "tasks": group_tasks}}
    return [*_cut(whole, budget, taken), *subs]


def _unique(name: str, taken: set[str]) -> str:
    """`name` as a template name no other template has (and now taken)."""
    label, number = sanitise(name), 1
    while label in taken:
        number += 1
        label = sanitise(f"{name}-{number}")
    taken.add(label)
    return label


def _depends(task: dict[str, Any]) -> list[str]:
    return [d for d in task.get("depends", "").split(" && ") if d]


def _references(task: dict[str, Any]) -> set[str]:
    """Sibling tasks whose status or outputs `task` reads (they must stay in its DAG)."""
    return set(re.findall(r"\{\{tasks\.([-a-z0-9]+)\.", json.dumps(task)))
