"""Argo Events: an EventSource for the pipeline's triggers and a Sensor that submits its workflow.

Each trigger is one event of the EventSource; the Sensor depends on any of
them and submits a Workflow from the WorkflowTemplate, passing fields of
the event as workflow parameters (an object's `bucket` and `key`, a
message's `body`, a push's `commit`, ...).
"""

from __future__ import annotations

from typing import Any

from sparklec.backends.argo.names import sanitise
from sparklec.backends.argo.workflow import API_VERSION
from sparklec.lowering import ExecutionPlan
from sparklec.ir import pipeline as p

WEBHOOK_PORT = "12000"


def _secret(name: str, key: str) -> dict[str, str]:
    return {"name": name, "key": key}


def event(trigger: p.Trigger, index: int) -> tuple[str, str, dict[str, Any], dict[str, str]] | None:
    """(event source type, event name, its spec, workflow parameter → event data key); None when Argo Events
    has no source for the trigger."""
    name = f"{type(trigger).__name__.removesuffix('Trigger').lower()}-{index}"
    if isinstance(trigger, p.ObjectCreatedTrigger) and trigger.store in ("s3", "minio"):
        spec: dict[str, Any] = {
            "bucket": {"name": trigger.bucket}, "endpoint": "s3.amazonaws.com" if trigger.store == "s3" else
            "minio.minio.svc:9000", "events": ["s3:ObjectCreated:*"],
            "accessKey": _secret("object-store", "accesskey"), "secretKey": _secret("object-store", "secretkey")}
        if trigger.store == "minio":
            spec["insecure"] = True
        if trigger.prefix or trigger.suffix:
            spec["filter"] = {"prefix": trigger.prefix, "suffix": trigger.suffix}
        return "minio", name, spec, {"bucket": "notification.0.s3.bucket.name", "key": "notification.0.s3.object.key"}
    if isinstance(trigger, p.KafkaTrigger):
        spec = {"url": trigger.brokers, "topic": trigger.topic, "jsonBody": True, "partition": "0"}
        if trigger.consumer_group:
            spec["consumerGroup"] = {"groupName": trigger.consumer_group}
        return "kafka", name, spec, {"message": "body"}
    if isinstance(trigger, p.WebhookTrigger):
        return "webhook", name, {"endpoint": trigger.endpoint, "method": trigger.method, "port": str(trigger.port)}, \
            {"payload": "body"}
    if isinstance(trigger, p.SnsTrigger):
        region = trigger.topic_arn.split(":")[3] if trigger.topic_arn.count(":") >= 5 else "us-east-1"
        return "sns", name, {"topicArn": trigger.topic_arn, "region": region, "webhook": {
            "endpoint": f"/{name}", "method": "POST", "port": WEBHOOK_PORT}}, {"message": "body"}
    if isinstance(trigger, p.SqsTrigger):
        return "sqs", name, {"queue": trigger.queue, "region": trigger.region, "waitTimeSeconds": 20,
                             "jsonBody": True}, {"message": "body"}
    if isinstance(trigger, p.GitHubTrigger):
        return "github", name, {
            "repositories": [{"owner": trigger.owner, "names": [trigger.repository]}],
            "events": list(trigger.events), "webhook": {"endpoint": f"/{name}", "method": "POST",
                                                        "port": WEBHOOK_PORT},
            "apiToken": _secret("github", "token"), "webhookSecret": _secret("github", "webhook-secret"),
            "contentType": "json", "active": True}, {"commit": "body.after"}
    if isinstance(trigger, p.CustomEventTrigger):
        return "webhook", name, {"endpoint": f"/{sanitise(trigger.source)}", "method": "POST",
                                 "port": WEBHOOK_PORT}, {"payload": "body"}
    return None


def manifests(plan: ExecutionPlan, template: str, labels: dict[str, str]
              ) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The EventSource and the Sensor of the pipeline's triggers (None when it has none Argo Events serves)."""
    events = [e for i, trigger in enumerate(plan.triggers, start=1) if (e := event(trigger, i)) is not None]
    if not events:
        return None
    source_name = f"{template}-events"[:63]
    sources: dict[str, dict[str, Any]] = {}
    for kind, name, spec, _ in events:
        sources.setdefault(kind, {})[name] = spec
    event_source = {"apiVersion": API_VERSION, "kind": "EventSource",
                    "metadata": {"name": source_name, "labels": labels}, "spec": sources}
    dependencies = [{"name": name, "eventSourceName": source_name, "eventName": name} for _, name, _, _ in events]
    triggers = []
    for _, name, _, fields in events:
        parameters = [{"name": field, "value": ""} for field in fields]
        workflow = {"apiVersion": API_VERSION, "kind": "Workflow", "metadata": {"generateName": f"{template}-"},
                    "spec": {"workflowTemplateRef": {"name": template}, "arguments": {"parameters": parameters}}}
        triggers.append({"template": {"name": f"submit-on-{name}", "conditions": name, "argoWorkflow": {
            "operation": "submit", "source": {"resource": workflow},
            "parameters": [{"src": {"dependencyName": name, "dataKey": key},
                            "dest": f"spec.arguments.parameters.{i}.value"}
                           for i, key in enumerate(fields.values())]}}})
    name = sensor_name(template)
    sensor = {"apiVersion": API_VERSION, "kind": "Sensor", "metadata": {"name": name, "labels": labels},
              "spec": {"template": {"serviceAccountName": name}, "dependencies": dependencies, "triggers": triggers}}
    return event_source, sensor


def sensor_name(template: str) -> str:
    """The name of the pipeline's Sensor, and of the service account it submits workflows as."""
    return f"{template}-sensor"[:63]


def unserved(plan: ExecutionPlan) -> list[str]:
    """Triggers Argo Events has no source for (listed in the README)."""
    return [f"{type(trigger).__name__.removesuffix('Trigger')} ({getattr(trigger, 'store', '')})".replace(" ()", "")
            for i, trigger in enumerate(plan.triggers, start=1) if event(trigger, i) is None]
