"""What a state machine needs from its deployment: parameters, resources and IAM permissions.

The ASL refers to deployment-time values as ``${Name}`` placeholders, which
CloudFormation fills through `DefinitionSubstitutions` and Terraform through
`replace()` on the same `state_machine.json`.  Each placeholder is a stack
parameter (a value the user gives at deploy time: a cluster, a workgroup)
or a resource the stack creates (an SNS topic, an ECS task definition).
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from sparklec.ir.channels import SNS_ARN
from sparklec.ir.channels import channel as read_channel


@attrs.frozen
class Parameter:
    """A value given at deploy time (CloudFormation parameter, Terraform variable)."""

    name: str
    description: str
    default: str | None = None
    type: str = "String"


@attrs.frozen
class Topic:
    """An SNS topic the stack creates for a notification channel (`email://`, `slack://`, ...)."""

    name: str
    channel: str


@attrs.frozen
class TaskDefinition:
    """An ECS Fargate task definition the stack creates for a container or script task."""

    name: str
    image: str
    command: tuple[str, ...]
    environment: tuple[tuple[str, str], ...] = ()
    cpu: str = "1024"
    memory: str = "2048"


@attrs.frozen
class Statement:
    """One IAM policy statement; resources are CloudFormation `Fn::Sub` strings."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]


@attrs.define
class Stack:
    """Everything the state machine of one pipeline needs around it."""

    parameters: dict[str, Parameter] = attrs.field(factory=dict)
    topics: dict[str, Topic] = attrs.field(factory=dict)
    task_definitions: dict[str, TaskDefinition] = attrs.field(factory=dict)
    statements: dict[str, Statement] = attrs.field(factory=dict)
    existing_topics: dict[str, str] = attrs.field(factory=dict)
    """Placeholder → ARN (an `Fn::Sub` string) of an SNS topic that exists already (``sns://name``)."""
    databricks_connection: bool = False
    ecs_rule: str | None = None
    """The managed EventBridge rule `.sync` integrations create (ECS, Batch, EMR Serverless)."""

    def parameter(self, name: str, description: str, default: str | None = None,
                  type: str = "String") -> str:
        """A placeholder for a deploy-time parameter."""
        self.parameters.setdefault(name, Parameter(name, description, default, type))
        return "${" + name + "}"

    def allow(self, sid: str, actions: tuple[str, ...], *resources: str) -> None:
        """Grant `actions` on `resources` (merged with earlier grants under the same `sid`)."""
        known = self.statements.get(sid)
        if known is not None:
            actions = tuple(dict.fromkeys((*known.actions, *actions)))
            resources = tuple(dict.fromkeys((*known.resources, *resources)))
        self.statements[sid] = Statement(sid, actions, tuple(resources))

    def topic(self, channel: str) -> str:
        """The placeholder for the topic behind `channel`: an ARN as is, ``sns://name``, or a new topic."""
        named = read_channel(channel)
        if named.scheme == SNS_ARN:
            self.allow("PublishNotifications", ("sns:Publish",), channel)
            return channel
        if named.scheme == "sns":
            name = named.address
            placeholder = logical_id(name, "Topic")
            self.existing_topics[placeholder] = f"arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{name}"
            self.allow("PublishNotifications", ("sns:Publish",), self.existing_topics[placeholder])
            return "${" + placeholder + "}"
        placeholder = logical_id(named.address, "Topic")
        self.topics.setdefault(placeholder, Topic(placeholder, channel))
        self.allow("PublishNotifications", ("sns:Publish",), "${" + placeholder + "}")
        return "${" + placeholder + "}"

    def task_definition(self, definition: TaskDefinition) -> str:
        placeholder = definition.name
        self.task_definitions[placeholder] = definition
        return "${" + placeholder + "}"


def logical_id(text: str, suffix: str) -> str:
    """A CloudFormation logical id (alphanumeric, starting with a letter) made from `text`."""
    words = re.split(r"[^A-Za-z0-9]+", text)
    name = "".join(w[:1].upper() + w[1:] for w in words if w)
    if not name or not name[0].isalpha():
        name = "X" + name
    return (name + suffix)[:255]


def sub(text: str) -> Any:
    """A CloudFormation value for `text`: a plain string, or `Fn::Sub` when it holds ``${...}``."""
    return {"Fn::Sub": text} if "${" in text else text
