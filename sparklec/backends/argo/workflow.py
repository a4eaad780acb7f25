"""The WorkflowTemplate of a pipeline: one DAG template per level of steps.

A level's DAG has one task per step, with `depends` on the transitive
reduction of the level's edges, so every fan-out and fan-in of the IR is
kept and no parallelism is lost.  A loop is a template whose DAG expands one
task over the items (`withItems`, or `withParam` on a list parameter) and
whose `parallelism` is the loop's concurrency; a branch is one DAG task per
arm, guarded by `when`.  Loop variables travel as input parameters; a
``${name}`` in a task's strings becomes the loop variable or the workflow
parameter of that name.
"""

from __future__ import annotations

import json

import attrs
from collections import defaultdict
from typing import Any

from sparklec.backends.argo.names import MAX_NAME, literal, sanitise
from sparklec.backends.argo.shapes import DagTask, Template
from sparklec.backends.bundle import Names
from sparklec.backends.argo.steps import Steps
from sparklec.diagnostics import Diagnostic, LoweringError
from sparklec.ir import tasks as t
from sparklec.ir.policy import Artifact
from sparklec.ir.template import Ref, render
from sparklec.lowering import ExecutionPlan, Level, Message, PlanBranch, PlanLoop, PlanStep, PlanTask

API_VERSION = "argoproj.io/v1alpha1"
ARGO_STATUS = {"succeeded": "Succeeded", "failed": "Failed", "skipped": "Skipped", "error": "Error"}


class WorkflowBuilder:
    """Builds the WorkflowTemplate spec of one pipeline."""

    def __init__(self, plan: ExecutionPlan, options: dict[str, str]):
        self.plan = plan
        self.options = options
        self.downstream = [sanitise(name) for name in plan.downstream]
        self.name = sanitise(plan.pipeline)
        self.names = Names(sanitise, MAX_NAME, reserved=("main", "exit-handler"))
        self.steps = Steps(self)
        self.templates: list[Template] = []
        self.parameters: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, str] = {}
        for parameter in plan.parameters:
            entry: dict[str, Any] = {"name": parameter.name}
            if parameter.default is not None:
                entry["value"] = literal(_string(parameter.default))
            else:
                entry["valueFrom"] = self.setting(parameter.name)
            self.parameters[parameter.name] = entry

    @property
    def settings(self) -> str:
        """The ConfigMap that holds the values of the parameters that have no default."""
        return f"{self.name}-settings"

    def setting(self, key: str) -> dict[str, Any]:
        """Where a parameter with no default takes its value when a submission gives none: its key in the
        settings ConfigMap."""
        return {"configMapKeyRef": {"name": self.settings, "key": key}}

    @property
    def from_settings(self) -> list[str]:
        """The parameters read from the settings ConfigMap (those with no default), in the spec's order."""
        return [p["name"] for p in self.parameters.values() if "valueFrom" in p]

    @property
    def service_account(self) -> str:
        """The service account workflows run as: the `service_account` option, else the pipeline's own."""
        return self.options.get("service_account", self.name)

    # --- values -------------------------------------------------------------------------------

    def parameter(self, name: str, description: str, default: str | None = None) -> str:
        """A workflow parameter (given at submission); returns the expression that reads it."""
        key = sanitise(name)
        entry: dict[str, Any] = {"name": key, "description": description}
        if default is not None:
            entry["value"] = default
        else:
            entry["valueFrom"] = self.setting(key)
        self.parameters.setdefault(key, entry)
        return expression(f"workflow.parameters.{key}")

    def text(self, text: str, inputs: list[str]) -> str:
        """User `text` with ``${name}`` read from a loop variable or a workflow parameter (or the run's status).

        Argo substitutes ``{{...}}`` in templates, so a ``{{`` of the user's
        own is written as an expression that Argo renders back to ``{{``."""
        text = literal(text)

        def replace(ref: Ref) -> str | None:
            if ref.name == STATUS:
                return expression(STATUS)
            if ref.name in inputs:
                return expression(f"inputs.parameters.{ref.name}")
            if ref.name in self.parameters:
                return expression(f"workflow.parameters.{ref.name}")
            return None
        return render(text, replace)

    def artifact(self, artifact: Artifact, inputs: list[str]) -> dict[str, Any]:
        """An artifact: where it lives, or only its name and path (the default repository, another task)."""
        entry: dict[str, Any] = {"name": sanitise(artifact.name), "path": literal(artifact.path)}
        if artifact.location is None or artifact.source is not None:
            return entry
        location = self.text(artifact.location, inputs)
        scheme, _, rest = location.partition("://")
        bucket, _, key = rest.partition("/")
        if artifact.store == "s3":
            entry["s3"] = {"endpoint": self.options.get("s3_endpoint", "s3.amazonaws.com"), "bucket": bucket,
                           "key": key, "useSDKCreds": True}
        elif artifact.store == "gcs":
            entry["gcs"] = {"bucket": bucket, "key": key}
        elif artifact.store == "azure":
            container, _, blob = key.partition("/")
            entry["azure"] = {"endpoint": f"https://{bucket}", "container": container, "blob": blob,
                              "useSDKCreds": True}
        elif artifact.store == "artifactory":
            entry["artifactory"] = {"url": location}
        else:
            entry["http"] = {"url": location}
        return entry

    # --- templates --------------------------------------------------------------------------------

    def spec(self) -> dict[str, Any]:
        main = self.dag("main", self.plan.steps, [])
        assert main == "main"
        spec: dict[str, Any] = {"entrypoint": "main"}
        if self.parameters:
            spec["arguments"] = {"parameters": list(self.parameters.values())}
        spec["serviceAccountName"] = self.service_account
        if "artifact_repository" in self.options:
            spec["artifactRepositoryRef"] = {"configMap": "artifact-repositories",
                                             "key": self.options["artifact_repository"]}
        exit_handler = self.exit_handler()
        if exit_handler:
            spec["onExit"] = exit_handler
        spec["podGC"] = {"strategy": "OnPodSuccess"}
        spec["ttlStrategy"] = {"secondsAfterSuccess": 86_400, "secondsAfterFailure": 604_800}
        spec["templates"] = sorted(self.templates, key=lambda template: template["name"] != "main")
        return spec

    def dag(self, name: str, level: Level, inputs: list[str], parallelism: int | None = None) -> str:
        """A DAG template for one level of steps; returns its name."""
        steps = {step.name: step for step in level.steps}
        upstream: dict[str, list[str]] = defaultdict(list)
        for before, after in level.edges:
            upstream[after].append(before)
        tasks: list[DagTask] = []
        for step in level.steps:
            depends = " && ".join(n for u in upstream[step.name] for n in self.task_names(steps[u]))
            for task in self.dag_tasks(step, inputs, set(steps)):
                if depends:
                    task["depends"] = depends
                tasks.append(task)
        template: Template = {"name": name}
        if inputs:
            template["inputs"] = {"parameters": [{"name": v} for v in inputs]}
        if parallelism:
            template["parallelism"] = parallelism
        dag: dict[str, Any] = {"tasks": tasks}
        if self.options.get("fail_fast") != "true":  # as every backend: a failure skips only what needs it
            dag["failFast"] = False
        template["dag"] = dag
        self.templates.append(template)
        return name

    def task_names(self, step: PlanStep) -> list[str]:
        """The DAG task names a step becomes (a branch: one per arm)."""
        if isinstance(step, PlanBranch):
            return [n for n, arm in ((self.names(step.name), step.then),
                                     (self.names(f"{step.name}-else"), step.otherwise)) if arm.steps]
        return [self.names(step.name)]

    def passed(self, inputs: list[str]) -> list[dict[str, str]]:
        return [{"name": v, "value": expression(f"inputs.parameters.{v}")} for v in inputs]

    def dag_tasks(self, step: PlanStep, inputs: list[str], siblings: set[str]) -> list[DagTask]:
        if isinstance(step, PlanLoop):
            return [self.foreach(step, inputs)]
        if isinstance(step, PlanBranch):
            return self.branch(step, inputs, siblings)
        name = self.names(step.name)
        self.templates.append(self.steps.template(step, name, inputs))
        task: DagTask = {"name": name, "template": name}
        arguments: dict[str, Any] = {}
        if inputs:
            arguments["parameters"] = self.passed(inputs)
        artifacts = []
        for artifact in step.inputs:
            if artifact.source is None:
                continue
            producer, _, output = artifact.source.partition(".")
            if producer not in siblings:
                raise LoweringError([Diagnostic(
                    code="E402", message=f"`{step.name}` reads an artifact of `{producer}`, which is not in the same "
                                         "loop or branch", span=artifact.span,
                    help="Argo passes artifacts between tasks of one DAG; move the tasks together")])
            artifacts.append({"name": sanitise(artifact.name), "from": expression(
                f"tasks.{self.names(producer)}.outputs.artifacts.{sanitise(output)}")})
        if artifacts:
            arguments["artifacts"] = artifacts
        if arguments:
            task["arguments"] = arguments
        return [task]

    def foreach(self, step: PlanLoop, inputs: list[str]) -> DagTask:
        """A template that runs the body once per item, at most `max_concurrency` at a time."""
        name = self.names(step.name)
        inner = [*(v for v in inputs if v != step.var), step.var]  # an inner loop's variable hides an outer one
        body = self.dag(self.names(f"{step.name}-body"), step.body, inner)
        item: DagTask = {"name": "item", "template": body,
                         "arguments": {"parameters": [*self.passed(inner[:-1]),
                                                      {"name": step.var, "value": "{{item}}"}]}}
        if step.items is not None:
            item["withItems"] = [v if isinstance(v, (int, float, str, bool)) else _string(v) for v in step.items]
        else:
            item["withParam"] = expression(f"workflow.parameters.{step.items_param}")
        template: Template = {"name": name}
        if inputs:
            template["inputs"] = {"parameters": [{"name": v} for v in inputs]}
        if step.max_concurrency:
            template["parallelism"] = step.max_concurrency
        template["dag"] = {"tasks": [item]}
        self.templates.append(template)
        task: DagTask = {"name": name, "template": name}
        if inputs:
            task["arguments"] = {"parameters": self.passed(inputs)}
        return task

    def branch(self, step: PlanBranch, inputs: list[str], siblings: set[str]) -> list[DagTask]:
        condition = self.condition(step.condition, siblings)
        tasks = []
        for suffix, arm, when in (("", step.then, condition), ("-else", step.otherwise, f"!({condition})")):
            if not arm.steps:
                continue
            name = self.dag(self.names(f"{step.name}{suffix}"), arm, inputs)
            task: DagTask = {"name": name, "template": name, "when": when}
            if inputs:
                task["arguments"] = {"parameters": self.passed(inputs)}
            tasks.append(task)
        return tasks

    def condition(self, condition: t.Condition, siblings: set[str]) -> str:
        """A `when` expression (govaluate): strings quoted, results of sibling tasks by status."""
        if isinstance(condition, (t.AllOf, t.AnyOf)):
            joiner = " && " if isinstance(condition, t.AllOf) else " || "
            return "(" + joiner.join(self.condition(c, siblings) for c in condition.conditions) + ")"
        if isinstance(condition, t.Not):
            return f"!({self.condition(condition.condition, siblings)})"
        operand = condition.operand if isinstance(condition, t.IsSet) else condition.left
        if isinstance(operand, t.ParamRef):
            value = expression(f"workflow.parameters.{operand.name}")
            if isinstance(condition, t.IsSet):
                return f"'{value}' != ''"
            right = condition.right
            if isinstance(right, str):
                return f"'{value}' {condition.op} {_quoted(right)}"
            return f"{value} {condition.op} {_json(right)}"
        if operand.field != "status" or operand.task not in siblings:
            raise LoweringError([Diagnostic(
                code="E402", message=f"Argo can read `{operand.task}.status` only, and only of a task in the same "
                                     f"DAG as the branch, not `{operand.task}.{operand.field}`", span=operand.span,
                help="compare the status of a task next to the branch")])
        status = expression(f"tasks.{self.names(operand.task)}.status")
        if isinstance(condition, t.IsSet):
            return f"'{status}' != ''"
        right = ARGO_STATUS.get(str(condition.right).lower(), str(condition.right))
        return f"{status} {condition.op} {right}"

    def exit_handler(self) -> str | None:
        """On failure: the `on_failure` tasks and alerts; on success: start the pipelines that depend on this."""
        alerts = [attrs.evolve(alert, name=sanitise(alert.name), action=attrs.evolve(
                      alert.action, message=f"{alert.action.message} Status: ${{{STATUS}}}."))
                  for alert in self.plan.alerts if isinstance(alert.action, Message)]  # sparklec's names: not renamed
        on_failure = [step for step in self.plan.on_failure.steps if isinstance(step, PlanTask)]
        steps: list[DagTask] = []
        for task in (*on_failure, *alerts):
            name = self.names(task.name)
            self.templates.append(self.steps.template(task, name, []))
            steps.append({"name": name, "template": name, "when": "{{workflow.status}} != Succeeded"})
        for downstream in self.downstream:
            name = self.names(f"start-{downstream}")
            manifest = {"apiVersion": API_VERSION, "kind": "Workflow", "metadata": {"generateName": f"{downstream}-"},
                        "spec": {"workflowTemplateRef": {"name": downstream}}}
            self.templates.append({"name": name, "resource": {"action": "create", "manifest": json.dumps(manifest)}})
            steps.append({"name": name, "template": name, "when": "{{workflow.status}} == Succeeded"})
        if not steps:
            return None
        self.templates.append({"name": "exit-handler", "steps": [[step] for step in steps]})
        return "exit-handler"


STATUS = "workflow.status"
"""``${workflow.status}`` in a message: how the run ended."""


def expression(path: str) -> str:
    """An Argo template expression: ``{{path}}``."""
    return "{{" + path + "}}"


def _string(value: Any) -> str:
    """A parameter value as Argo holds it: text, with lists as JSON."""
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _quoted(text: str) -> str:
    return "'" + literal(text.replace("\\", "\\\\").replace("'", "\\'")) + "'"


def _json(value: Any) -> str:
    return json.dumps(value)
