"""The resources around a state machine, said once: `resources` lists them as typed values, which
`cloudformation` and `terraform` print.

Values in documents (policies, event patterns, container definitions) refer
to the deployment with `Sub` (a string with ``${Name}`` references to
parameters, resources and ``AWS::`` pseudo parameters), `Ref` (a parameter's
value, or the ARN of a state machine) and `Arn` (a resource's ARN).
"""

from __future__ import annotations

from typing import Any, Union

import attrs

from sparklec.backends.stepfunctions.asl import Machine


@attrs.frozen
class Sub:
    """A string with ``${Name}`` references (CloudFormation `Fn::Sub`, a Terraform template)."""

    text: str


@attrs.frozen
class Ref:
    """A parameter's value, or a state machine's ARN."""

    name: str


@attrs.frozen
class Arn:
    """The ARN of a resource of the stack."""

    resource: str


Value = Union[str, int, bool, Sub, Ref, Arn, list[Any], dict[str, Any]]
"""A value in a resource or document."""


@attrs.frozen
class Role:
    """An IAM role `service` assumes (`name`: the suffix of its name), with an inline `policy` (its name and
    document) or a `managed` policy."""

    id: str
    name: str
    service: str | tuple[str, ...]
    description: str = ""
    policy: tuple[str, dict[str, Any]] | None = None
    managed: Sub | None = None
    tagged: bool = False


@attrs.frozen
class LogGroup:
    """A CloudWatch log group named `path` (a `Sub`)."""

    id: str
    path: Sub
    retention: int


@attrs.frozen
class Topic:
    """An SNS topic, with an e-mail or HTTPS subscription (`protocol`, `endpoint`) when it has one."""

    id: str
    name: str
    protocol: str | None = None
    endpoint: str | None = None


@attrs.frozen
class TaskDefinition:
    """An ECS Fargate task definition of one container, `main`, logging to the `ContainerLogGroup`."""

    id: str
    name: str
    image: str
    command: tuple[str, ...]
    environment: tuple[tuple[str, str], ...]
    cpu: str
    memory: str


@attrs.frozen
class Connection:
    """The EventBridge connection that holds the Databricks token."""

    id: str
    name: str


@attrs.frozen
class StateMachine:
    """A state machine: `key` is empty for the main one, ``Part1``... for parts; `name` a `Sub`; `file` its
    definition, with the value of each ``${...}`` placeholder in it (`substitutions`), read from `upload` (an
    S3 key) when it is too big to inline."""

    key: str
    name: Sub
    file: str
    definition: Machine
    substitutions: tuple[tuple[str, Value], ...]
    upload: str | None = None

    @property
    def id(self) -> str:
        return f"StateMachine{self.key}"


@attrs.frozen
class Rule:
    """An EventBridge rule that starts the main state machine on a UTC `schedule` or an event `pattern`; with
    `fields`, the event's fields become the run's input through `template`."""

    id: str
    name: str
    description: str
    schedule: str | None = None
    pattern: dict[str, Any] | None = None
    fields: dict[str, str] | None = None
    template: str | None = None


@attrs.frozen
class Schedule:
    """An EventBridge Scheduler schedule that starts the main state machine in a time zone."""

    id: str
    name: str
    description: str
    expression: str
    timezone: str


Resource = Union[Role, LogGroup, Topic, TaskDefinition, Connection, StateMachine, Rule, Schedule]


def assume(service: str | tuple[str, ...]) -> dict[str, Any]:
    """The trust policy that lets `service` assume a role of this account."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service if isinstance(service, str) else list(service)},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}}}]}
