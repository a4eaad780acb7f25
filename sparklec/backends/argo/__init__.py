"""The Argo Workflows backend: a WorkflowTemplate per pipeline, with a Workflow, a CronWorkflow,
Argo Events (EventSource and Sensor), a deploy script and a README.

Options (``-O key=value``):

- ``namespace`` — the namespace `deploy.sh` uses by default (``argo``).
- ``service_account`` — the service account workflows run as.
- ``spark_image`` — the Spark image of SQL tasks (``spark:3.5.3``).
- ``spark_packages`` — the Maven packages `spark-sql` loads (Delta Lake's); ``none`` for an image that has them.
- ``database`` — the database that holds the views and tables tasks produce.
- ``artifact_repository`` — the key of the `artifact-repositories` ConfigMap to use.
- ``s3_endpoint`` — the S3 endpoint of artifacts (``s3.amazonaws.com``).
- ``fail_fast`` — ``false`` (default): after a failure, the tasks that do not need the failed one still run,
  as on every backend; ``true`` starts nothing more (Argo's own default).
- ``concurrency`` — the CronWorkflow's `concurrencyPolicy`: ``Forbid`` (default), ``Allow``, ``Replace``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sparklec.backends import Artifacts, Backend, check_options
from sparklec.backends.bundle import Argument, Readme, code, layout, shell_script
from sparklec.backends.jobs import describe_jobs, job_files
from sparklec.backends.argo import events, rbac
from sparklec.backends.argo.names import sanitise
from sparklec.backends.argo.split import MAX_OBJECT_BYTES, split
from sparklec.backends.argo.steps import PROFILE
from sparklec.backends.argo.workflow import API_VERSION, WorkflowBuilder
from sparklec.backends.formats import yaml_text
from sparklec.diagnostics import Diagnostic, Severity, UsageError
from sparklec.ir.pipeline import Project
from sparklec.lowering import ExecutionPlan, build_plans

OPTIONS: dict[str, tuple[str, ...] | None] = {
    "namespace": None, "service_account": None, "spark_image": None, "spark_packages": None, "database": None,
    "artifact_repository": None, "s3_endpoint": None, "fail_fast": ("true", "false"),
    "concurrency": ("Forbid", "Allow", "Replace"),
}
STARTING_DEADLINE_SECONDS = 300


def lower(project: Project, options: Mapping[str, str]) -> Artifacts:
    """The manifests of each pipeline: in the output root for one pipeline, else in a folder per pipeline."""
    check_options("argo", options, OPTIONS)
    if "namespace" in options and sanitise(options["namespace"]) != options["namespace"]:
        raise UsageError([Diagnostic(code="E401", message=f"`{options['namespace']}` is not a Kubernetes "
                                                         "namespace name",
                                     help="use lower-case letters, digits and `-`, at most 63 characters")])
    return layout(build_plans(project, PROFILE, options), lambda plan: pipeline_files(plan, dict(options)))


def pipeline_files(plan: ExecutionPlan, options: dict[str, str]
                   ) -> tuple[dict[str, str], list[Diagnostic]]:
    builder = WorkflowBuilder(plan, options)
    labels = {"sparklec.io/pipeline": builder.name, "sparklec.io/env": plan.env}
    if plan.pipeline_type:
        labels["sparklec.io/type"] = plan.pipeline_type
    triggered = events.manifests(plan, builder.name, labels)
    if triggered is not None:
        for trigger in triggered[1]["spec"]["triggers"]:
            for parameter in trigger["template"]["argoWorkflow"]["source"]["resource"]["spec"]["arguments"][
                    "parameters"]:
                builder.parameter(parameter["name"], "set by the event that starts the run", "")
    spec = builder.spec()
    metadata: dict[str, Any] = {"name": builder.name, "labels": labels}
    if plan.description:
        metadata["annotations"] = {"workflows.argoproj.io/description": plan.description}
    notes = []
    files = {"workflow-template.yaml": yaml_text({"apiVersion": API_VERSION, "kind": "WorkflowTemplate",
                                                  "metadata": metadata, "spec": spec})}
    whole = len(files["workflow-template.yaml"].encode())
    if whole > MAX_OBJECT_BYTES:
        spec, parts = split(builder.name, spec)
        files["workflow-template.yaml"] = yaml_text({"apiVersion": API_VERSION, "kind": "WorkflowTemplate",
                                                     "metadata": metadata, "spec": spec})
        for index, part in enumerate(parts, start=1):
            files[f"workflow-template-part-{index}.yaml"] = yaml_text({
                "apiVersion": API_VERSION, "kind": "WorkflowTemplate",
                "metadata": {"name": sanitise(f"{builder.name}-part-{index}"), "labels": labels}, "spec": part})
        notes.append(Diagnostic(
            code="N404", severity=Severity.NOTE, span=plan.span,
            message=f"the WorkflowTemplate of `{plan.pipeline}` would be {whole:,} bytes, more than one Kubernetes "
                    f"object holds: its templates are spread over {len(parts)} more WorkflowTemplates "
                    "(`templateRef`)"))
    files |= {
        "workflow.yaml": yaml_text({"apiVersion": API_VERSION, "kind": "Workflow",
                                    "metadata": {"generateName": f"{builder.name}-", "labels": labels},
                                    "spec": {"workflowTemplateRef": {"name": builder.name}}}),
    }
    crons = cron_workflows(plan, builder.name, labels, options)
    if crons:
        files["cron-workflow.yaml"] = "---\n".join(yaml_text(c) for c in crons)
    if triggered is not None:
        files["event-source.yaml"] = yaml_text(triggered[0])
        files["sensor.yaml"] = yaml_text(triggered[1])
    files["rbac.yaml"] = yaml_text({"apiVersion": "v1", "kind": "List", "items": rbac.manifests(
        plan, builder.name, builder.service_account, "service_account" not in options, bool(builder.downstream),
        labels, events.sensor_name(builder.name) if triggered is not None else None)})
    files.update(job_files(plan))
    files["deploy.sh"] = deploy_script(builder, options.get("namespace", "argo"), sorted(files))
    files["README.md"] = readme(plan, builder, files)
    notes += builder.names.note(plan.pipeline, plan.span, "Kubernetes names",
                                news=lambda name, label: name.replace("_", "-") != label)  # kebab-case is no news
    return files, notes


def cron_workflows(plan: ExecutionPlan, name: str, labels: dict[str, str], options: dict[str, str]
                   ) -> list[dict[str, Any]]:
    """One CronWorkflow per time zone of the pipeline's schedules."""
    zones: dict[str, list[str]] = {}
    for schedule in plan.schedules:
        zones.setdefault(schedule.timezone, []).append(schedule.cron)
    crons = []
    for index, (zone, schedules) in enumerate(sorted(zones.items())):
        cron_name = name if index == 0 else sanitise(f"{name}-{zone}")
        crons.append({"apiVersion": API_VERSION, "kind": "CronWorkflow",
                      "metadata": {"name": cron_name, "labels": labels},
                      "spec": {"schedules": schedules, "timezone": zone,
                               "concurrencyPolicy": options.get("concurrency", "Forbid"),
                               "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
                               "workflowSpec": {"workflowTemplateRef": {"name": name}}}})
    return crons


def deploy_script(builder: WorkflowBuilder, namespace: str, files: list[str]) -> str:
    """The script that installs the manifests (the RBAC first, the settings when given) and may start a run."""
    parts = sorted((f for f in files if f.startswith("workflow-template-part-")),
                   key=lambda f: int(re.sub(r"\D", "", f)))
    templates_first = ["rbac.yaml", *parts, "workflow-template.yaml"] + [
        f for f in files if f in ("cron-workflow.yaml", "event-source.yaml", "sensor.yaml")]
    applies = [f'kubectl apply --server-side --force-conflicts --namespace "$namespace" --filename "$here/{f}"'
               for f in templates_first]
    keys = sorted(builder.from_settings)
    notes = [f"NAMESPACE defaults to {namespace}; --submit also starts a run now."]
    if keys:
        notes.append(f"The settings ({', '.join(keys)}) go to ConfigMap {builder.settings}: give all of them, once "
                     "and whenever one changes.")
    return shell_script(
        f"Installs pipeline {builder.name} in a Kubernetes namespace that runs Argo Workflows (and Argo Events).",
        [Argument("namespace", "NAMESPACE", "a Kubernetes namespace name", pattern=NAMESPACE, default=namespace),
         Argument("submit", "--submit", "option", choices=("--submit",), default="")],
        "\n".join([*_settings(builder.settings, keys), *applies, 'if [ "$submit" = "--submit" ]; then',
                   '  kubectl create --namespace "$namespace" --filename "$here/workflow.yaml"', "fi"]),
        notes=notes, rest="key=value ..." if keys else "")


def _settings(configmap: str, keys: list[str]) -> list[str]:
    """Shell lines that check the ``key=value`` arguments (every key, none unknown) and store them in `configmap`,
    or, given none, check that the namespace has it."""
    if not keys:
        return []
    choices = "|".join(keys)
    return [
        'if [ "$#" -gt 0 ]; then',
        "  given=' '",
        '  for setting in "$@"; do',
        '    key="${setting%%=*}"',
        f'    case "$key" in {choices}) given="$given$key " ;; *) echo "unknown setting: $key" >&2; usage ;; esac',
        "  done",
        *(f'  case "$given" in *" {key} "*) ;; *) echo "missing setting: {key}=..." >&2; usage ;; esac'
          for key in keys),
        f'  kubectl create configmap {configmap} --namespace "$namespace" "${{@/#/--from-literal=}}" '
        '--dry-run=client --output yaml | kubectl apply --namespace "$namespace" --filename -',
        f'elif ! kubectl get configmap {configmap} --namespace "$namespace" > /dev/null 2>&1; then',
        f'  echo "namespace $namespace has no settings yet: give {" ".join(k + "=..." for k in keys)}" >&2',
        "  usage",
        "fi",
    ]


NAMESPACE = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
"""A Kubernetes namespace name (a bash regular expression)."""


def readme(plan: ExecutionPlan, builder: WorkflowBuilder, files: dict[str, str]) -> str:
    name = builder.name
    text = Readme(f"{plan.pipeline} on Argo Workflows", f"Generated by sparklec from pipeline `{plan.pipeline}`.")
    settings = "".join(f" {key}=..." for key in builder.from_settings)
    text.code("sh", f"./deploy.sh argo{settings}   # install the manifests in namespace `argo`",
              f"argo submit --from workflowtemplate/{name} -n argo   # run it now",
              "argo list -n argo && argo logs @latest -n argo")
    text.bullets(f"`{f}`" for f in sorted(files))
    required = [builder.parameters[key] for key in builder.from_settings]
    if required:
        text.section("Settings", f"Give them to `deploy.sh` as `key=value`, all together: they are kept in the "
                                 f"ConfigMap `{builder.settings}`, read by every run (a submission's `-p key=value` "
                                 "overrides one).").bullets(
            f"`{p['name']}`" + (f": {p['description']}" if p.get("description") else "") for p in required)
    text.section("Permissions", f"The workflows run as the service account `{builder.service_account}`; "
                                f"`rbac.yaml` gives it what its steps do (the Role `{builder.name}`).")
    unknown = rbac.unknown_kinds(plan)
    if unknown:
        text.paragraph("Add to that Role the objects these Kubernetes steps act on (their manifests are filled in "
                       "as they run): " + ", ".join(f"`{task.name}`" for task in unknown) + ".")
    if builder.secrets:
        text.section("Secrets", "Create these Kubernetes Secrets in the namespace:").bullets(
            f"`{k}`: {v}" for k, v in sorted(builder.secrets.items()))
    describe_jobs(text, plan, files)
    renamed = builder.names.renamed()
    if renamed:
        text.section("Names", "Steps whose names are not Kubernetes names run under these:").table(
            ["step", "Kubernetes name"], [(code(k), code(v)) for k, v in renamed.items()])
    unserved = events.unserved(plan)
    if unserved:
        text.paragraph(f"Not wired (Argo Events has no event source for them here): {', '.join(unserved)}.")
    if "event-source.yaml" in files:
        text.paragraph("The EventSource reads credentials from the `object-store` or `github` Secrets where it needs",
                       f"them; the Sensor submits runs as the service account `{events.sensor_name(builder.name)}`, "
                       "which `rbac.yaml` allows to create Workflows.")
    return text.text()


backend = Backend(name="argo", description="Argo Workflows v4 (WorkflowTemplate, CronWorkflow, Argo Events)",
                  lower=lower, folder=lambda project: f"argo/{sanitise(project)}", profile=PROFILE)
