"""main.tf: a pipeline's `resources` printed as Terraform (AWS provider 5)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from typing_extensions import assert_never

from sparklec.backends.stepfunctions import resources as r
from sparklec.backends.stepfunctions.stack import Parameter

MAX_SHORT_NAME = 64
"""IAM roles, EventBridge rules, schedules and connections."""
MAX_LONG_NAME = 255
"""SNS topics and ECS task definition families."""


class Hcl(str):
    """An HCL expression written as is (a reference, a function call, a template)."""


def hcl(value: Any, depth: int = 0) -> str:
    """`value` as an HCL expression; strings are escaped, so nothing in them is interpolated."""
    pad = "  " * (depth + 1)
    if isinstance(value, Hcl):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return hcl_string(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = [f"{pad}{k if re.fullmatch(r'[A-Za-z_][A-Za-z0-9_-]*', k) else hcl_string(k)} = {hcl(v, depth + 1)}"
                 for k, v in value.items()]
        return "{\n" + "\n".join(lines) + "\n" + "  " * depth + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(pad + hcl(v, depth + 1) for v in value) + ",\n" + "  " * depth + "]"
    raise TypeError(f"no HCL for {type(value).__name__}")


def hcl_string(text: str) -> str:
    """`text` as an HCL string literal: nothing in it is interpolated."""
    return json.dumps(text, ensure_ascii=False).replace("${", "$${").replace("%{", "%%{")


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


AWS = {"AWS::Partition": "data.aws_partition.current.partition", "AWS::Region": "data.aws_region.current.name",
       "AWS::AccountId": "data.aws_caller_identity.current.account_id", "Environment": "var.environment"}
LABELS = {"StateMachineRole": "state_machine", "LogGroup": "state_machine", "TaskExecutionRole": "task_execution",
          "ContainerLogGroup": "containers", "EventsRole": "events", "DatabricksConnection": "databricks"}
"""Resource id → its Terraform name, where it is not the id in snake case."""


class Terraform:
    """Prints neutral values and resources as Terraform; `name(suffix, limit)` names a resource."""

    def __init__(self, parameters: Mapping[str, Parameter], resources: Sequence[r.Resource], name: Any):
        self.parameters = parameters
        self.resources = resources
        self.name = name
        self.addresses = {resource.id: f"{_type(resource)}.{label(resource)}" for resource in resources}
        self.blocks: list[str] = []

    def reference(self, name: str) -> str:
        """The Terraform expression for a parameter, a resource (its ARN) or an ``AWS::`` pseudo parameter."""
        if name in AWS:
            return AWS[name]
        if name.removesuffix(".Arn") in self.addresses:
            return f"{self.addresses[name.removesuffix('.Arn')]}.arn"
        variable = f"var.{snake(name)}"
        return f'join(",", {variable})' if self.parameters[name].type == "CommaDelimitedList" else variable

    def template(self, text: str) -> Hcl:
        """A `Sub` string as an HCL template string (or the one reference it is)."""
        pieces = re.split(r"\$\{([A-Za-z0-9_:.]+)\}", text)
        if len(pieces) == 3 and not pieces[0] and not pieces[2]:
            return Hcl(self.reference(pieces[1]))
        out = ""
        for index, piece in enumerate(pieces):
            out += "${" + self.reference(piece) + "}" if index % 2 else hcl_string(piece)[1:-1]
        return Hcl('"' + out + '"')

    def value(self, value: Any) -> Any:
        """A neutral value as Terraform."""
        match value:
            case r.Sub():
                return self.template(value.text)
            case r.Ref():
                return Hcl(self.reference(value.name))
            case r.Arn():
                return Hcl(self.reference(value.resource + ".Arn"))
            case dict():
                return {k: self.value(v) for k, v in value.items()}
            case list():
                return [self.value(v) for v in value]
        return value

    def json(self, value: Any) -> Hcl:
        return Hcl(f"jsonencode({hcl(self.value(value), 1)})")

    def block(self, kind: str, name: str, values: dict[str, Any], nested: str = "") -> None:
        body = "".join(f"  {k} = {hcl(v, 1)}\n" for k, v in values.items())
        self.blocks.append(f'resource "{kind}" "{name}" {{\n{body}{nested}}}\n')

    def resource(self, resource: r.Resource) -> None:
        kind, key = _type(resource), label(resource)
        match resource:
            case r.Role():
                values = {"name": self.name(resource.name), "assume_role_policy": self.json(r.assume(resource.service))}
                self.block(kind, key, values | ({"tags": Hcl("local.tags")} if resource.tagged else {}))
                if resource.policy:
                    name, document = resource.policy
                    self.block("aws_iam_role_policy", key, {"name": name, "role": Hcl(f"aws_iam_role.{key}.id"),
                                                            "policy": self.json(document)})
                if resource.managed:
                    self.block("aws_iam_role_policy_attachment", key, {
                        "role": Hcl(f"aws_iam_role.{key}.name"), "policy_arn": self.value(resource.managed)})
            case r.LogGroup():
                self.block(kind, key, {"name": self.value(resource.path), "retention_in_days": resource.retention})
            case r.Topic():
                self.block(kind, key, {"name": self.name(key.replace("_", "-"), MAX_LONG_NAME),
                                       "tags": Hcl("local.tags")})
                if resource.protocol:
                    self.block("aws_sns_topic_subscription", key, {
                        "topic_arn": Hcl(f"{kind}.{key}.arn"), "protocol": resource.protocol,
                        "endpoint": resource.endpoint})
            case r.TaskDefinition():
                container: dict[str, Any] = {
                    "name": "main", "image": resource.image, "essential": True, "command": list(resource.command),
                    "logConfiguration": {"logDriver": "awslogs", "options": {
                        "awslogs-group": Hcl("aws_cloudwatch_log_group.containers.name"),
                        "awslogs-region": Hcl("data.aws_region.current.name"),
                        "awslogs-stream-prefix": resource.id}}}
                if resource.environment:
                    container["environment"] = [{"name": k, "value": v} for k, v in resource.environment]
                self.block(kind, key, {
                    "family": self.name(key.replace("_", "-"), MAX_LONG_NAME), "requires_compatibilities": ["FARGATE"],
                    "network_mode": "awsvpc", "cpu": resource.cpu, "memory": resource.memory,
                    "execution_role_arn": Hcl("aws_iam_role.task_execution.arn"),
                    "container_definitions": Hcl(f"jsonencode({hcl([container], 1)})"), "tags": Hcl("local.tags")})
            case r.Connection():
                self.block(kind, key, {"name": self.name("databricks"), "authorization_type": "API_KEY"},
                           '  auth_parameters {\n    api_key {\n      key   = "Authorization"\n'
                           '      value = "Bearer ${var.databricks_token}"\n    }\n  }\n')
            case r.StateMachine():
                self.block(kind, key, {
                    "name": Hcl("local.name") if not resource.key else self.value(resource.name), "type": "STANDARD",
                    "role_arn": Hcl("aws_iam_role.state_machine.arn"), "definition": Hcl(f"local.{_local(resource)}"),
                    "tags": Hcl("local.tags")},
                    '  logging_configuration {\n    log_destination        = '
                    '"${aws_cloudwatch_log_group.state_machine.arn}:*"\n'
                    '    include_execution_data = false\n    level                  = "ERROR"\n  }\n')
            case r.Rule():
                starts = {"schedule_expression": resource.schedule} if resource.schedule else {
                    "event_pattern": self.json(resource.pattern)}
                self.block(kind, key, {"name": self.name(key.replace("_", "-")), **starts, "tags": Hcl("local.tags")})
                transformer = ""
                if resource.fields:
                    transformer = (f"  input_transformer {{\n    input_paths = {hcl(resource.fields, 2)}\n"
                                   f"    input_template = {hcl_string(resource.template or '')}\n  }}\n")
                self.block("aws_cloudwatch_event_target", key, {
                    "rule": Hcl(f"{kind}.{key}.name"), "arn": Hcl("aws_sfn_state_machine.this.arn"),
                    "role_arn": Hcl("aws_iam_role.events.arn")}, transformer)
            case r.Schedule():
                self.block(kind, key, {"name": self.name(key.replace("_", "-")),
                                       "schedule_expression": resource.expression,
                                       "schedule_expression_timezone": resource.timezone},
                           '  flexible_time_window {\n    mode = "OFF"\n  }\n  target {\n'
                           '    arn      = aws_sfn_state_machine.this.arn\n    role_arn = aws_iam_role.events.arn\n  }\n')
            case _:
                assert_never(resource)

    def render(self, environment: str, machine_name: str, tags: Sequence[tuple[str, str]]) -> str:
        """main.tf: the provider, a variable per parameter, the locals, the resources (rules last)."""
        head = ['terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n'
                '      version = "~> 5.0"\n    }\n  }\n}\n',
                'provider "aws" {\n  region = var.region\n}\n',
                'variable "region" {\n  type        = string\n  description = "AWS region to deploy to"\n}\n',
                'variable "environment" {\n  type        = string\n  description = "Environment the pipeline runs in"\n'
                f'  default     = {hcl_string(environment)}\n  validation {{\n'
                '    condition     = contains(["dev", "qa", "prod"], var.environment)\n'
                '    error_message = "The environment is one of dev, qa and prod."\n  }\n}\n']
        for parameter in self.parameters.values():
            lines = [f"  type        = {'list(string)' if parameter.type == 'CommaDelimitedList' else 'string'}",
                     f"  description = {hcl_string(parameter.description)}"]
            if parameter.default is not None:
                lines.append(f"  default     = {hcl_string(parameter.default)}")
            if parameter.type == "Secret":
                lines.append("  sensitive   = true")
            head.append(f'variable "{snake(parameter.name)}" {{\n' + "\n".join(lines) + "\n}\n")
        head += ['data "aws_partition" "current" {}\n', 'data "aws_region" "current" {}\n',
                 'data "aws_caller_identity" "current" {}\n']
        machines = [m for m in self.resources if isinstance(m, r.StateMachine)]
        definitions = "".join(f"  {_local(m)} = {self.definition(m)}\n" for m in machines)
        head.append(f'locals {{\n  name = "{machine_name}"\n{definitions}  tags = {hcl(dict(tags), 1)}\n}}\n')
        for resource in sorted(self.resources, key=lambda resource: isinstance(resource, r.Rule)):
            self.resource(resource)
        tail = 'output "state_machine_arn" {\n  value = aws_sfn_state_machine.this.arn\n}\n'
        return "\n".join(head + self.blocks + [tail])

    def definition(self, machine: r.StateMachine) -> str:
        """The machine's file with its ${...} placeholders replaced, one replace() per placeholder."""
        if not machine.substitutions:  # HCL wants an expression on the line of its `=`
            return f'file("${{path.module}}/{machine.file}")'
        replaced = "replace(" * len(machine.substitutions) + f'\n    file("${{path.module}}/{machine.file}")'
        for placeholder, value in machine.substitutions:
            replaced += f',\n    "$${{{placeholder}}}", {hcl(self.value(value), 2)})'
        return replaced


def _type(resource: r.Resource) -> str:
    match resource:
        case r.Role():
            return "aws_iam_role"
        case r.LogGroup():
            return "aws_cloudwatch_log_group"
        case r.Topic():
            return "aws_sns_topic"
        case r.TaskDefinition():
            return "aws_ecs_task_definition"
        case r.Connection():
            return "aws_cloudwatch_event_connection"
        case r.StateMachine():
            return "aws_sfn_state_machine"
        case r.Rule():
            return "aws_cloudwatch_event_rule"
        case r.Schedule():
            return "aws_scheduler_schedule"
        case _:
            assert_never(resource)


def label(resource: r.Resource) -> str:
    """The resource's Terraform name."""
    if isinstance(resource, r.StateMachine):
        return resource.key.lower() or "this"
    return LABELS.get(resource.id, snake(resource.id.removesuffix("Role") if isinstance(resource, r.Role)
                                         else resource.id))


def _local(machine: r.StateMachine) -> str:
    return f"definition{'_' + machine.key.lower() if machine.key else ''}"
