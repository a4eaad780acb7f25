"""The typed IR: frozen attrs nodes, the step graph and the verifier.

Nodes are immutable; rewrite them with `attrs.evolve`.  Every node carries a
`span` that does not take part in equality.
"""

from sparklec.ir.pipeline import (
    CustomEventTrigger, CustomTransformer, Dataset, Exposure, GitHubTrigger, KafkaTrigger,
    ObjectCreatedTrigger, Parameter, Pipeline, Project, Schedule, SnsTrigger, SqsTrigger, Trigger,
    WebhookTrigger,
)
from sparklec.ir.policy import Artifact, Policy, Resources, Retry
from sparklec.diagnostics import Span
from sparklec.ir.tasks import (
    AcceptedValues, AllOf, AnyOf, Approval, Branch, Check, Compare, Condition, Container,
    CustomSqlCheck, EmailFormat, Example, ForEach, Freshness, Given, Ingest, IsSet, KubernetesResource,
    MatchesRegex, Not, NotNull, Notify, ParamRef, QualityCheck, Relationships, RowCount, RunSql,
    Score, Script, SelectModel, Step, Task, TaskResult, Train, Transform, Unique, Wait, Write,
)
from sparklec.ir.values import Column, Setting

__all__ = [
    "AcceptedValues", "AllOf", "AnyOf", "Approval", "Artifact", "Branch", "Check", "Column",
    "Compare", "Condition", "Container", "CustomEventTrigger", "CustomSqlCheck",
    "CustomTransformer", "Dataset", "EmailFormat", "Example", "Exposure", "ForEach", "Freshness",
    "GitHubTrigger", "Given", "Ingest", "IsSet", "KafkaTrigger", "KubernetesResource", "MatchesRegex", "Not",
    "NotNull", "Notify", "ObjectCreatedTrigger", "ParamRef", "Parameter", "Pipeline", "Policy",
    "Project", "QualityCheck", "Relationships", "Resources", "Retry", "RowCount", "RunSql",
    "Schedule", "Score", "Script", "SelectModel", "Setting", "SnsTrigger", "Span", "SqsTrigger",
    "Step", "Task", "TaskResult", "Train", "Transform", "Trigger", "Unique", "Wait", "WebhookTrigger",
    "Write",
]
