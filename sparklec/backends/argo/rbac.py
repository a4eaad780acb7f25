"""What a pipeline's workflows may do in their namespace: a ServiceAccount, a Role and its RoleBinding.

Argo's executor reports each step's outputs as a `WorkflowTaskResult`; a
pipeline that starts the pipelines depending on it creates Workflows; a
Kubernetes resource step acts on the kind its manifest names.  The Role
grants exactly these.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from sparklec.lowering import ExecutionPlan, PlanTask, Resource

VERBS = {"create": ("create",), "apply": ("get", "create", "patch"), "replace": ("get", "create", "update"),
         "patch": ("get", "patch"), "delete": ("get", "delete"), "get": ("get",)}
"""A resource step's action → the verbs it needs on its object (and `list`/`watch` to wait on its conditions)."""


def manifests(plan: ExecutionPlan, name: str, account: str, own_account: bool, starts_workflows: bool,
              labels: dict[str, str], sensor: str | None = None) -> list[dict[str, Any]]:
    """The ServiceAccount (when the workflows run as their own, `own_account`), Role and RoleBinding of `name`;
    with a `sensor`, the account, Role and RoleBinding that let it submit the pipeline's workflows."""
    rules: dict[tuple[str, str], set[str]] = {("argoproj.io", "workflowtaskresults"): {"create", "patch"}}
    if starts_workflows:
        rules.setdefault(("argoproj.io", "workflows"), set()).add("create")
    for task in plan.tasks():
        if isinstance(task.action, Resource):
            target = _kind(task.action.manifest)
            if target is not None:
                rules.setdefault(target, set()).update({*VERBS[task.action.action], "list", "watch"})
    granted = _granted(name, account, rules, labels)
    if own_account:
        granted.insert(0, _account(account, labels))
    if sensor is not None:
        granted += [_account(sensor, labels), *_granted(sensor, sensor, {("argoproj.io", "workflows"): {"create"}},
                                                        labels)]
    return granted


def _account(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "labels": labels}}


def _granted(name: str, account: str, rules: dict[tuple[str, str], set[str]], labels: dict[str, str]
             ) -> list[dict[str, Any]]:
    """The Role `name` with `rules`, bound to the service account `account`."""
    metadata = {"name": name, "labels": labels}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": metadata,
            "rules": [{"apiGroups": [group], "resources": [resource], "verbs": sorted(verbs)}
                      for (group, resource), verbs in sorted(rules.items())]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": metadata,
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
               "subjects": [{"kind": "ServiceAccount", "name": account}]}
    return [role, binding]


def unknown_kinds(plan: ExecutionPlan) -> list[PlanTask]:
    """The resource steps whose manifest does not say what it acts on (a template filled in at run time)."""
    return [task for task in plan.tasks() if isinstance(task.action, Resource) and _kind(task.action.manifest) is None]


def _kind(manifest: str) -> tuple[str, str] | None:
    """(API group, resource) of the object a manifest describes, when it names its apiVersion and kind."""
    try:
        document = yaml.safe_load(manifest)
    except yaml.YAMLError:
        return None
    if not isinstance(document, dict) or not isinstance(document.get("kind"), str) \
            or not isinstance(document.get("apiVersion"), str) or "$" in document["kind"]:
        return None
    group = document["apiVersion"].rpartition("/")[0]
    return group, _plural(document["kind"].lower())


def _plural(kind: str) -> str:
    """The resource name of a kind, as Kubernetes spells it (`Ingress` → `ingresses`, `NetworkPolicy` →
    `networkpolicies`)."""
    if kind == "endpoints":
        return kind
    if re.search(r"(s|x|z|ch|sh)$", kind):
        return kind + "es"
    if re.search(r"[^aeiou]y$", kind):
        return kind[:-1] + "ies"
    return kind + "s"
