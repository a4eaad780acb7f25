"""An executor of Argo Workflows semantics, for running generated WorkflowTemplates in the tests.

It walks a workflow as Argo's controller does, one node at a time: DAG tasks start once their
`dependencies` succeeded or their `depends` expression holds (a task whose `when` is false is Skipped, one
whose `depends` can no longer hold is Omitted; with `failFast`, Argo's default, none starts after a
failure), `withItems` and `withParam` fan a task out, steps run group
by group, `retryStrategy.limit` reruns a failed pod, `templateRef` names a template of another
WorkflowTemplate, and `onExit` runs last with `{{workflow.status}}`.  Parameters resolve from the workflow's
arguments (a `configMapKeyRef` from the settings given), template inputs, items and task outputs; a
reference nothing resolves is an error, as it is in Argo.  Pods are run by a callback: `container` and
`script` templates, with every parameter filled in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

Template = dict[str, Any]
PodRunner = Callable[[Template], tuple[bool, str]]
"""Runs a pod of a template: whether it succeeded, and what it printed (its `outputs.result`)."""

_REFERENCE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


class ArgoError(Exception):
    """What Argo's controller would reject as the workflow runs."""


@attrs.define
class Node:
    """A node of the run: a task or step, its phase and outputs."""

    name: str
    template: str
    phase: str = "Pending"
    result: str = ""
    attempts: int = 0


class Executor:
    """Runs the WorkflowTemplate `templates[name]` (other WorkflowTemplates serve `templateRef`s)."""

    def __init__(self, templates: Mapping[str, dict[str, Any]], name: str, run_pod: PodRunner,
                 settings: Mapping[str, str] = {}, arguments: Mapping[str, str] = {}):
        self.manifests, self.spec, self.run_pod = templates, templates[name]["spec"], run_pod
        self.nodes: list[Node] = []
        self.workflow: dict[str, str] = {"workflow.name": f"{name}-run", "workflow.namespace": "argo"}
        for parameter in self.spec.get("arguments", {}).get("parameters", []):
            key = f"workflow.parameters.{parameter['name']}"
            if parameter["name"] in arguments:
                self.workflow[key] = arguments[parameter["name"]]
            elif "value" in parameter:
                self.workflow[key] = str(parameter["value"])
            elif "valueFrom" in parameter:
                reference = parameter["valueFrom"]["configMapKeyRef"]
                if reference["key"] not in settings:
                    raise ArgoError(f"ConfigMap {reference['name']} has no key {reference['key']}")
                self.workflow[key] = settings[reference["key"]]
            else:
                raise ArgoError(f"parameter {parameter['name']}: value or valueFrom is required")

    def run(self) -> str:
        """Run the entrypoint, then the exit handler; the workflow's phase."""
        phase = self.execute(self.spec["entrypoint"], {}, "main").phase
        status = "Succeeded" if phase in ("Succeeded", "Skipped") else "Failed"
        if "onExit" in self.spec:
            self.execute(self.spec["onExit"], {}, "exit", {"workflow.status": status})
        return status

    def template(self, name: str, ref: Mapping[str, str] | None = None) -> Template:
        spec = self.manifests[ref["name"]]["spec"] if ref else self.spec
        found = [t for t in spec["templates"] if t["name"] == (ref["template"] if ref else name)]
        if len(found) != 1:
            raise ArgoError(f"template {name} not found")
        return found[0]

    def execute(self, name: str, given: Mapping[str, str], node_name: str, scope: Mapping[str, str] = {},
                ref: Mapping[str, str] | None = None) -> Node:
        template = self.template(name, ref)
        inputs = {}
        for parameter in template.get("inputs", {}).get("parameters", []):
            if parameter["name"] in given:
                inputs[f"inputs.parameters.{parameter['name']}"] = given[parameter["name"]]
            elif "value" in parameter or "default" in parameter:
                inputs[f"inputs.parameters.{parameter['name']}"] = str(parameter.get("value", parameter.get("default")))
            else:
                raise ArgoError(f"template {name}: input parameter {parameter['name']} has no value")
        scope = {**scope, **inputs}
        node = Node(node_name, name)
        self.nodes.append(node)
        if "dag" in template:
            node.phase = self.dag(template["dag"]["tasks"], scope, template["dag"].get("failFast", True))
        elif "steps" in template:
            node.phase = self.steps(template["steps"], scope)
        elif "container" in template or "script" in template:
            filled = json.loads(self.fill(json.dumps(template), scope))
            limit = int(template.get("retryStrategy", {}).get("limit", 0))
            while node.attempts <= limit:
                node.attempts += 1
                succeeded, node.result = self.run_pod(filled)
                if succeeded:
                    break
            node.phase = "Succeeded" if succeeded else "Failed"
        elif "resource" in template or "suspend" in template:
            node.phase = "Succeeded"
        else:
            raise ArgoError(f"template {name} has no type")
        return node

    def dag(self, tasks: list[dict[str, Any]], scope: Mapping[str, str], fail_fast: bool) -> str:
        """Run the DAG's tasks as they become ready; with `fail_fast`, none starts after one failed."""
        phases: dict[str, str] = {}
        outputs: dict[str, str] = {}
        pending = list(tasks)
        while pending:
            ready = [t for t in pending if _settled(t, phases)]
            if not ready:
                raise ArgoError(f"DAG tasks wait for one another: {[t['name'] for t in pending]}")
            for task in ready:
                pending.remove(task)
                local = {**scope, **outputs}
                if fail_fast and any(phase in ("Failed", "Error") for phase in phases.values()):
                    phases[task["name"]] = "Omitted"  # never started: Argo schedules nothing more
                elif not self.may_start(task, phases):
                    phases[task["name"]] = "Omitted"
                elif "when" in task and not evaluate(self.fill(task["when"], local)):
                    phases[task["name"]] = "Skipped"
                else:
                    phases[task["name"]] = self.task(task, local, outputs)
        failed = [name for name, phase in phases.items() if phase in ("Failed", "Error")]
        return "Failed" if failed else "Succeeded"

    def may_start(self, task: dict[str, Any], phases: Mapping[str, str]) -> bool:
        if "depends" in task:
            return depends_holds(task["depends"], phases)
        return all(phases[d] in ("Succeeded", "Skipped") for d in task.get("dependencies", []))

    def task(self, task: dict[str, Any], scope: dict[str, str], outputs: dict[str, str]) -> str:
        """Run a DAG task or step (fanned out over its items), recording its outputs; its phase."""
        items: list[Any] = [None]
        if "withItems" in task:
            items = task["withItems"]
        elif "withParam" in task:
            items = json.loads(self.fill(task["withParam"], scope))
        phases = []
        for index, item in enumerate(items):
            local = dict(scope)
            if item is not None:
                local["item"] = item if isinstance(item, str) else json.dumps(item)
                for key, value in (item.items() if isinstance(item, dict) else ()):
                    local[f"item.{key}"] = str(value)
            given = {p["name"]: self.fill(str(p.get("value", "")), local)
                     for p in task.get("arguments", {}).get("parameters", [])}
            node = self.execute(task.get("template", ""), given, f"{task['name']}({index})", local,
                                task.get("templateRef"))
            phases.append(node.phase)
            outputs[f"tasks.{task['name']}.outputs.result"] = outputs[f"steps.{task['name']}.outputs.result"] = \
                node.result
        phase = "Failed" if "Failed" in phases else "Succeeded"
        outputs[f"tasks.{task['name']}.status"] = outputs[f"steps.{task['name']}.status"] = phase
        return phase

    def steps(self, groups: list[list[dict[str, Any]]], scope: Mapping[str, str]) -> str:
        outputs: dict[str, str] = {}
        for group in groups:
            local = {**scope, **outputs}
            phases = [self.task(step, local, outputs) for step in group
                      if "when" not in step or evaluate(self.fill(step["when"], local))]
            if "Failed" in phases:
                return "Failed"
        return "Succeeded"

    def fill(self, text: str, scope: Mapping[str, str]) -> str:
        """`text` with every `{{...}}` replaced; one that nothing resolves is an error."""
        known = {**self.workflow, **scope}

        def value(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in known:
                raise ArgoError(f"unresolved reference {{{{{key}}}}}")
            return known[key]

        return _REFERENCE.sub(value, text)


def _settled(task: dict[str, Any], phases: Mapping[str, str]) -> bool:
    """Whether every task `task` waits for has ended."""
    names = task.get("dependencies", []) or re.findall(r"[A-Za-z0-9-]+(?=\.|\b)", task.get("depends", ""))
    names = [n for n in names if n not in _RESULTS]
    return all(n in phases for n in names)


_PHASES = {"Succeeded": ("Succeeded",), "Failed": ("Failed",), "Errored": ("Error",), "Skipped": ("Skipped",),
           "Omitted": ("Omitted",), "Daemoned": ("Daemoned",), "AnySucceeded": ("Succeeded",),
           "AllFailed": ("Failed",)}
"""A task's result in `depends` → the phases it means (a fanned-out task has one phase here)."""
_RESULTS = tuple(_PHASES)


def depends_holds(expression: str, phases: Mapping[str, str]) -> bool:
    """Argo's `depends`: `task` alone is `task.Succeeded || task.Skipped || task.Daemoned`."""

    def result(match: re.Match[str]) -> str:
        wanted = _PHASES.get(match.group(2) or "", ("Succeeded", "Skipped", "Daemoned"))
        return str(phases[match.group(1)] in wanted)

    text = re.sub(r"([A-Za-z0-9][A-Za-z0-9-]*)(?:\.(" + "|".join(_RESULTS) + r"))?", result, expression)
    return evaluate(text)


def evaluate(expression: str) -> bool:
    """A `when` or `depends` condition after substitution: `&&`, `||`, `!`, parentheses, comparisons of
    numbers or strings (quoted, or bare words as Argo allows)."""
    tokens = re.findall(r"\s*(&&|\|\||==|!=|<=|>=|[()<>!]|'[^']*'|\"[^\"]*\"|[^\s()&|!=<>]+)", expression)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def either() -> Any:
        value = both()
        while peek() == "||":
            take()
            value = bool(both()) | bool(value)
        return value

    def both() -> Any:
        value = negation()
        while peek() == "&&":
            take()
            value = bool(negation()) & bool(value)
        return value

    def negation() -> Any:
        if peek() == "!":
            take()
            return not negation()
        return comparison()

    def comparison() -> Any:
        left = operand()
        if peek() in ("==", "!=", "<", "<=", ">", ">="):
            operator, right = take(), operand()
            return {"==": left == right, "!=": left != right}.get(operator) if operator in ("==", "!=") else \
                {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[operator]
        return left

    def operand() -> Any:
        token = take()
        if token == "(":
            value = either()
            if take() != ")":
                raise ArgoError(f"unbalanced parentheses in {expression!r}")
            return value
        if token[0] in "'\"":
            return token[1:-1]
        if token in ("true", "True", "false", "False"):
            return token.lower() == "true"
        try:
            return float(token)
        except ValueError:
            return token

    value = either()
    if position != len(tokens):
        raise ArgoError(f"cannot evaluate {expression!r}")
    return bool(value)
