"""The Argo oracles: Argo's strict JSON schemas (shape), plus the reference checks they leave out."""

from __future__ import annotations

import json
import re
from functools import cache
from zoneinfo import available_timezones
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter
from jsonschema import Draft7Validator, Draft202012Validator

from conftest import SHARED

SCHEMAS = SHARED / "schemas"
KINDS = {"WorkflowTemplate": "workflow", "Workflow": "workflow", "CronWorkflow": "workflow",
         "EventSource": "events", "Sensor": "events"}
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@cache
def timezones() -> set[str]:
    return available_timezones()


@cache
def validator(kind: str) -> Any:
    family = KINDS[kind]
    path = SCHEMAS / f"argo-{'workflows' if family == 'workflow' else 'events'}.strict.schema.json"
    definitions = json.loads(path.read_text())["definitions"]
    prefix = "io.argoproj.workflow.v1alpha1" if family == "workflow" else "io.argoproj.events.v1alpha1"
    schema = {"definitions": definitions, "$ref": f"#/definitions/{prefix}.{kind}"}
    return (Draft202012Validator if family == "workflow" else Draft7Validator)(schema)


def documents(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    return [(path, document) for path in sorted(folder.rglob("*.yaml"))
            for document in yaml.safe_load_all(path.read_text()) if document]


def spark_sql_scripts(folder: Path) -> list[list[str]]:
    """The statements of each script a `spark-sql -e` pod of the manifests under `folder` runs, each Argo
    ``{{...}}`` a plain name and each ``${env:...}`` a plain ``${...}``."""
    scripts = [template["container"]["args"][-1] for path in folder.rglob("workflow-template*.yaml")
               for template in yaml.safe_load(path.read_text())["spec"]["templates"]
               if template.get("container", {}).get("command") == ["/opt/spark/bin/spark-sql"]]
    return [re.sub(r"\{\{[^}]*\}\}", "p0", script).replace("${env:", "${").split(";\n") for script in scripts]


def problems(folder: Path) -> list[str]:
    """Schema errors and broken references in every manifest under `folder` (a folder's WorkflowTemplates
    may use each other's templates)."""
    found = []
    shared: dict[Path, dict[str, dict[str, Any]]] = {}
    for path, document in documents(folder):
        if document["kind"] == "WorkflowTemplate":
            shared.setdefault(path.parent, {})[document["metadata"]["name"]] = document["spec"]
    rbac: dict[Path, list[dict[str, Any]]] = {}
    sensors: dict[Path, list[dict[str, Any]]] = {}
    for path, document in documents(folder):
        where = f"{path.relative_to(folder)} ({document.get('kind')})"
        if document["kind"] == "Sensor":
            sensors.setdefault(path.parent, []).append(document)
        if document["kind"] == "List":
            rbac.setdefault(path.parent, []).extend(document["items"])
            continue
        for error in validator(document["kind"]).iter_errors(document):
            found.append(f"{where}: {error.message} at {list(error.absolute_path)}")
        found += [f"{where}: {p}" for p in references(document, shared.get(path.parent, {}))]
    for parent, templates in shared.items():
        found += [f"{parent.relative_to(folder)}: {p}"
                  for p in permissions(rbac.get(parent, []), templates, sensors.get(parent, []))]
    return found


KNOWN_TAG = re.compile(r"(inputs\.parameters|workflow\.parameters|tasks\.[-\w]+\.(outputs\.(parameters|result|artifacts)|status)|"
                       r"steps\.[-\w]+\.outputs\.(parameters|result))[.\w-]*|item|workflow\.(name|status|uid)|"
                       r"=\'\{\' \+ \'\{\'")
"""The tags sparklec writes: parameters, task outputs, loop items, the workflow's name and status, and ``{{``."""


def tags(text: str) -> list[str]:
    """The ``{{...}}`` tags Argo finds in `text`, scanning once from the left as it does."""
    found, start = [], text.find("{{")
    while start != -1:
        end = text.find("}}", start + 2)
        if end == -1:
            break
        found.append(text[start + 2:end])
        start = text.find("{{", end + 2)
    return found


def render(text: str, values: dict[str, str]) -> str:
    """`text` as Argo substitutes it, with `values` for the simple tags."""
    out, position = [], 0
    for tag in tags(text):
        start = text.index("{{" + tag + "}}", position)
        out.append(text[position:start])
        out.append("{{" if tag == "='{' + '{'" else values[tag])
        position = start + len(tag) + 4
    return "".join(out) + text[position:]


def references(document: dict[str, Any], shared: dict[str, dict[str, Any]]) -> list[str]:
    kind, spec = document["kind"], document["spec"]
    found = []
    name = document["metadata"].get("name") or document["metadata"]["generateName"].rstrip("-")
    if not NAME.match(name):
        found.append(f"`{name}` is not an RFC 1123 name")
    for key, value in document["metadata"].get("labels", {}).items():
        if len(value) > 63 or not re.match(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$", value):
            found.append(f"label {key}={value} is not a valid label value")
    if kind == "WorkflowTemplate":
        found += workflow_references(spec, shared) + admission(spec)
    if kind == "CronWorkflow":
        found += [f"cron `{c}` does not parse" for c in spec["schedules"] if not croniter.is_valid(c)]
        if spec.get("startingDeadlineSeconds", 1) <= 0:
            found.append("startingDeadlineSeconds must be positive")
        if spec.get("timezone", "UTC") not in timezones():
            found.append(f"invalid timezone {spec['timezone']}")
        if spec.get("concurrencyPolicy") not in (None, "Allow", "Forbid", "Replace"):
            found.append(f"concurrencyPolicy {spec['concurrencyPolicy']}")
    if kind == "Sensor":
        names = {d["name"] for d in spec["dependencies"]}
        for trigger in spec["triggers"]:
            for parameter in trigger["template"].get("argoWorkflow", {}).get("parameters", []):
                if parameter["src"]["dependencyName"] not in names:
                    found.append(f"trigger parameter reads unknown dependency {parameter['src']['dependencyName']}")
    return found


def permissions(items: list[dict[str, Any]], shared: dict[str, dict[str, Any]], sensors: list[dict[str, Any]]
                ) -> list[str]:
    """What the service account of each WorkflowTemplate beside `items` (its RBAC) cannot do that its steps need:
    report outputs (`workflowtaskresults`), and create the Workflows its resource templates create; and what
    each Sensor's account cannot do: submit Workflows."""
    granted: dict[str, set[tuple[str, str, str]]] = {}
    roles = {item["metadata"]["name"]: item for item in items if item["kind"] == "Role"}
    accounts = {item["metadata"]["name"] for item in items if item["kind"] == "ServiceAccount"}
    for binding in (item for item in items if item["kind"] == "RoleBinding"):
        for rule in roles[binding["roleRef"]["name"]]["rules"]:
            for subject in binding["subjects"]:
                granted.setdefault(subject["name"], set()).update(
                    (g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"])
    found = []
    for name, spec in shared.items():
        if "entrypoint" not in spec:
            continue  # a part of a split template: its templates run in the workflow that uses them
        account = spec.get("serviceAccountName")
        if account is None:
            found.append(f"`{name}` runs as the namespace's default service account, which Argo's executor needs "
                         "rights on workflowtaskresults for")
            continue
        if account not in accounts:
            continue  # the user's own account (option `service_account`): bound, not created, here
        needed = {("argoproj.io", "workflowtaskresults", "create"), ("argoproj.io", "workflowtaskresults", "patch")}
        for template in spec["templates"]:
            manifest = template.get("resource", {}).get("manifest")
            if manifest and yaml.safe_load(manifest).get("kind") == "Workflow":
                needed.add(("argoproj.io", "workflows", template["resource"]["action"]))
        found += [f"`{account}` may not {v} {r}" for g, r, v in sorted(needed - granted.get(account, set()))]
    for sensor in sensors:
        account = sensor["spec"].get("template", {}).get("serviceAccountName")
        if ("argoproj.io", "workflows", "create") not in granted.get(account or "", set()):
            found.append(f"Sensor `{sensor['metadata']['name']}` runs as `{account or 'default'}`, which may not "
                         "create workflows")
    return found


TEMPLATE_TYPES = ("container", "containerSet", "steps", "script", "resource", "dag", "suspend")
RESOURCE_ACTIONS = ("get", "create", "apply", "delete", "replace", "patch")
POD_GC = ("", "OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess")


def admission(spec: dict[str, Any]) -> list[str]:
    """What Argo's controller rejects that the schemas let through (its `workflow/validate` rules): one type per
    template, resource actions and manifests, images, leaf-only deadlines, parallelism only where tasks are,
    the DAG rules of `depends`, the pod GC strategy."""
    found = []
    if spec.get("podGC", {}).get("strategy", "") not in POD_GC:
        found.append(f"podGC.strategy unknown strategy {spec['podGC']['strategy']}")
    for template in spec["templates"]:
        name = template["name"]
        types = [kind for kind in TEMPLATE_TYPES if kind in template]
        if len(types) != 1:
            found.append(f"templates.{name} has {len(types) or 'no'} template types ({', '.join(types)})")
        resource = template.get("resource")
        if resource is not None:
            if resource.get("action") not in RESOURCE_ACTIONS:
                found.append(f"templates.{name}.resource.action must be one of {', '.join(RESOURCE_ACTIONS)}")
            try:
                yaml.safe_load(resource.get("manifest", ""))
            except yaml.YAMLError:
                found.append(f"templates.{name}.resource.manifest must be a valid yaml")
        for kind in ("container", "script"):
            if kind in template and not template[kind].get("image"):
                found.append(f"templates.{name}.{kind}.image may not be empty")
        deadline = template.get("activeDeadlineSeconds")
        if deadline is not None:
            if "steps" in template or "dag" in template:
                found.append(f"templates.{name}.activeDeadlineSeconds is only valid for leaf templates")
            elif not (isinstance(deadline, int) and deadline > 0 or str(deadline).startswith("{{")):
                found.append(f"templates.{name}.activeDeadlineSeconds must be a positive integer")
        if "parallelism" in template and not ("steps" in template or "dag" in template):
            found.append(f"templates.{name}.parallelism is only valid for steps and dag templates")
        tasks = template.get("dag", {}).get("tasks")
        if tasks is not None:
            if not tasks:
                found.append(f"templates.{name} must have at least one task")
            depends = any("depends" in task for task in tasks)
            if depends and any("dependencies" in task for task in tasks):
                found.append(f"templates.{name} cannot use both 'depends' and 'dependencies'")
            if depends and any("continueOn" in task for task in tasks):
                found.append(f"templates.{name} cannot use 'continueOn' with 'depends'")
            found += [f"templates.{name}.tasks.{task['name']} name cannot begin with a digit with 'depends'"
                      for task in tasks if depends and task["name"][:1].isdigit()]
    return found


def workflow_references(spec: dict[str, Any], shared: dict[str, dict[str, Any]]) -> list[str]:
    """Broken references in a WorkflowTemplate's `spec`; `shared` are the WorkflowTemplates beside it, by name."""
    templates = {t["name"]: t for t in spec["templates"]}
    found = []
    if len(templates) != len(spec["templates"]):
        found.append("template names are not unique")
    for reference in (spec.get("entrypoint"), spec.get("onExit")):
        if reference is not None and reference not in templates:
            found.append(f"template `{reference}` does not exist")
    parameters = {p["name"] for other in shared.values() for p in other.get("arguments", {}).get("parameters", [])}
    for parameter in spec.get("arguments", {}).get("parameters", []):
        source = parameter.get("valueFrom", {}).get("configMapKeyRef", {})
        if "value" not in parameter and not (source.get("name") and source.get("key")):
            found.append(f"parameter `{parameter['name']}` has no value or valueFrom: the controller rejects a run "
                         "that gives none")
    for template in spec["templates"]:
        if not NAME.match(template["name"]):
            found.append(f"template name `{template['name']}`")
        tasks = template.get("dag", {}).get("tasks", [])
        names = {task["name"] for task in tasks}
        if len(names) != len(tasks):
            found.append(f"task names of `{template['name']}` are not unique")
        steps = [s for group in template.get("steps", []) for s in group]
        for task in tasks + steps:
            if "templateRef" in task:
                ref = task["templateRef"]
                if ref["template"] not in {t["name"] for t in shared.get(ref["name"], {}).get("templates", [])}:
                    found.append(f"task `{task['name']}` uses missing template `{ref['name']}/{ref['template']}`")
            elif task["template"] not in templates:
                found.append(f"task `{task['name']}` uses missing template `{task['template']}`")
            for dependency in re.findall(r"[a-z0-9][-a-z0-9]*", task.get("depends", "")):
                if dependency not in names:
                    found.append(f"`{task['name']}` depends on unknown task `{dependency}`")
            for used in re.findall(r"workflow\.parameters\.([-\w]+)", json.dumps(task)):
                if used not in parameters:
                    found.append(f"`{task['name']}` reads unknown parameter `{used}`")
        for tag in tags(json.dumps(template)):
            if not KNOWN_TAG.fullmatch(tag):
                found.append(f"template `{template['name']}` has the tag {{{{{tag}}}}}, which Argo cannot resolve")
        for used in re.findall(r"workflow\.parameters\.([-\w]+)", json.dumps(template)):
            if used not in parameters:
                found.append(f"template `{template['name']}` reads unknown parameter `{used}`")
        if template.get("retryStrategy", {}).get("retryPolicy") not in (
                None, "Always", "OnFailure", "OnError", "OnTransientError"):
            found.append(f"retryPolicy of `{template['name']}`")
    return found
