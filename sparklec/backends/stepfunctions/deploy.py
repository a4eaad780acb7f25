"""The deployment files around a state machine: CloudFormation, Terraform, deploy.sh and EventBridge.

Both templates create the same things: the state machine (from the one
`state_machine.json`, its ``${...}`` placeholders filled from parameters
and resources), an IAM role with exactly the permissions the machine's
integrations need, a log group, the SNS topics and ECS task definitions the
tasks use, the Databricks connection, and EventBridge rules for schedules,
object-created and custom events and upstream pipelines.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from typing import Any

import attrs

from sparklec.backends.formats import json_text, yaml_text
from sparklec.backends.stepfunctions.stack import Stack, logical_id, sub
from sparklec.diagnostics import Diagnostic, LoweringError
from sparklec.ir import pipeline as p
from sparklec.ir.channels import channel
from sparklec.lowering import ExecutionPlan

LOG_RETENTION_DAYS = 30
OBJECT_FIELDS = {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"}
OBJECT_TEMPLATE = '{"bucket": <bucket>, "key": <key>}'
"""An object-created event starts a run with parameters `bucket` and `key`."""


def resource_name(pipeline: str) -> str:
    """The pipeline's name as AWS resource names want it: letters, digits and `-`, starting with a letter."""
    name = re.sub(r"[^A-Za-z0-9-]+", "-", pipeline).strip("-")
    return name if name[:1].isalpha() else f"p-{name}".rstrip("-")


ENVIRONMENT_ROOM = len("-prod")
"""What the longest environment adds to a name."""


def aws_name(base: str, limit: int, environment: str, suffix: str = "") -> str:
    """``base-ENVIRONMENT-suffix`` within `limit` characters in every environment.

    `environment` is written as given (``${Environment}``, ``${var.environment}``,
    ``$env``); a name that would be too long keeps its beginning and ends with
    a hash of the whole, so distinct names stay distinct."""
    tail = f"-{suffix}" if suffix else ""
    if len(base) + ENVIRONMENT_ROOM + len(tail) <= limit:
        return f"{base}-{environment}{tail}"
    whole = base + tail
    digest = hashlib.sha256(whole.encode()).hexdigest()[:8]
    return f"{whole[: limit - ENVIRONMENT_ROOM - 9].rstrip('-')}-{digest}-{environment}"


MAX_TEMPLATE_BODY = 51_200
"""The biggest template `aws cloudformation deploy` sends without an S3 bucket."""
MAX_STATE_MACHINE_NAME = 80
MAX_SHORT_NAME = 64
"""IAM roles, EventBridge rules, schedules and connections."""
MAX_LONG_NAME = 255
"""SNS topics and ECS task definition families."""


def placeholders(definition: dict[str, Any]) -> list[str]:
    """The names of the ``${...}`` placeholders in a definition."""
    return sorted(set(re.findall(r"\$\{([A-Za-z0-9_.]+)\}", json.dumps(definition))))


def definition_file(key: str) -> str:
    """The file of the main state machine (`key` empty) or of a part."""
    return f"state_machine{'_' + key.lower() if key else ''}.json"


def machine_name(base: str, environment: str) -> str:
    """The name of a pipeline's state machine in an environment."""
    return aws_name(base, MAX_STATE_MACHINE_NAME, environment)


# --- EventBridge ----------------------------------------------------------------------------


def eventbridge_cron(schedule: p.Schedule) -> str:
    """A 5-field cron as an EventBridge schedule expression: ``cron(m h dom mon dow year)``."""
    minute, hour, day, month, weekday = schedule.cron.split()
    if (minute, hour, day, month, weekday) == ("*",) * 5:
        return "rate(1 minute)"
    if weekday in ("*", "?"):
        weekday = "?"
    elif day in ("*", "?"):
        day = "?"
        weekday = re.sub(r"\d+", lambda m: str(int(m.group()) % 7 + 1), weekday)
    else:
        raise LoweringError([Diagnostic(
            code="E402", message=f"schedule `{schedule.cron}` names both a day of the month and a day of the week, "
                                 "which EventBridge cannot combine", span=schedule.span,
            help="use two schedules, one for each")])
    return f"cron({minute} {hour} {day} {month} {weekday} *)"


def event_patterns(plan: ExecutionPlan) -> list[tuple[str, dict[str, Any]]]:
    """(rule name suffix, EventBridge event pattern) for each trigger EventBridge can deliver."""
    patterns: list[tuple[str, dict[str, Any]]] = []
    for index, trigger in enumerate(plan.triggers, start=1):
        if isinstance(trigger, p.ObjectCreatedTrigger) and trigger.store == "s3":
            key: dict[str, Any] = {"prefix": trigger.prefix} if trigger.prefix else {"wildcard": f"*{trigger.suffix}"}
            if trigger.prefix and trigger.suffix:
                key = {"wildcard": f"{trigger.prefix}*{trigger.suffix}"}
            detail: dict[str, Any] = {"bucket": {"name": [trigger.bucket]}}
            if trigger.prefix or trigger.suffix:
                detail["object"] = {"key": [key]}
            patterns.append((f"ObjectCreated{index}", {"source": ["aws.s3"], "detail-type": ["Object Created"],
                                                       "detail": detail}))
        elif isinstance(trigger, p.CustomEventTrigger):
            pattern: dict[str, Any] = {"source": [trigger.source]}
            if trigger.detail_type:
                pattern["detail-type"] = [trigger.detail_type]
            patterns.append((f"Event{index}", pattern))
    return patterns


def unwired_triggers(plan: ExecutionPlan) -> list[str]:
    """Triggers Step Functions has no event source for (they are listed in the README)."""
    return [type(trigger).__name__.removesuffix("Trigger") for trigger in plan.triggers
            if not (isinstance(trigger, p.ObjectCreatedTrigger) and trigger.store == "s3")
            and not isinstance(trigger, p.CustomEventTrigger)]


# --- CloudFormation --------------------------------------------------------------------------


class Templates:
    """CloudFormation and Terraform for one pipeline's state machine."""

    def __init__(self, plan: ExecutionPlan, stack: Stack, definition: dict[str, Any], upstream: list[str],
                 parts: dict[str, dict[str, Any]] | None = None):
        self.plan = plan
        self.stack = stack
        self.definition = definition
        self.parts = parts or {}
        """Logical id (`Part1`, ...) → the definition of a state machine the main one starts."""
        self.name = resource_name(plan.pipeline)
        self.upstream = upstream
        self.schedules = [(f"Schedule{i}", s) for i, s in enumerate(plan.schedules, start=1)]
        self.patterns = event_patterns(plan) + [
            (f"After{logical_id(u, '')}", {"source": ["aws.states"],
                                           "detail-type": ["Step Functions Execution Status Change"],
                                           "detail": {"status": ["SUCCEEDED"], "stateMachineArn": [{"Fn::Sub": (
                                               "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"
                                               f"stateMachine:{machine_name(u, '${Environment}')}")}]}})
            for u in upstream]
        if self.parts:
            arns = [f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:{kind}:"
                    f"{self.part_name(key, '${Environment}')}{':*' if kind == 'execution' else ''}"
                    for kind in ("stateMachine", "execution") for key in self.parts]
            stack.allow("RunParts", ("states:StartExecution", "states:DescribeExecution", "states:StopExecution"),
                        *arns)
            stack.allow("WaitForParts", ("events:PutTargets", "events:PutRule", "events:DescribeRule"),
                        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
                        "StepFunctionsGetEventsForStepFunctionsExecutionRule")
        self.check_placeholders()

    def part_name(self, key: str, environment: str) -> str:
        """The name of the state machine of a part."""
        return aws_name(self.name, MAX_STATE_MACHINE_NAME, environment, key.lower())

    def machine_names(self, environment: str) -> list[str]:
        """The names of the pipeline's state machines: the main one, then its parts."""
        return [machine_name(self.name, environment), *(self.part_name(k, environment) for k in self.parts)]

    @property
    def triggered(self) -> bool:
        return bool(self.schedules or self.patterns)

    def tags(self) -> list[tuple[str, str]]:
        tags = [("sparklec:pipeline", self.plan.pipeline)]
        tags += [(s.key, str(s.value)) for s in self.plan.tags]
        return tags

    # CloudFormation ------------------------------------------------------------------------

    def definitions(self) -> dict[str, dict[str, Any]]:
        """File name → definition of every state machine of the pipeline."""
        return {definition_file(key): d for key, d in {"": self.definition, **self.parts}.items()}

    @functools.cached_property
    def _inline_template(self) -> dict[str, Any]:
        """The template with every definition inline."""
        return self.template({})

    @functools.cached_property
    def _inline(self) -> str:
        return yaml_text(self._inline_template, width=120)

    @property
    def resource_count(self) -> int:
        """How many resources the stack has (where the definitions live does not change it)."""
        return len(self._inline_template["Resources"])

    @functools.cached_property
    def uploads(self) -> dict[str, str]:
        """File → S3 key of each definition, when inlining them makes the template too big to deploy
        without a bucket (empty otherwise).  A key names its content, so a changed definition is a new key
        and CloudFormation updates the state machine."""
        if len(self._inline.encode()) <= MAX_TEMPLATE_BODY:
            return {}
        return {file: f"sparklec/{self.name}/{file.removesuffix('.json')}-"
                      f"{hashlib.sha256(json_text(d).encode()).hexdigest()[:16]}.json"
                for file, d in self.definitions().items()}

    def cloudformation(self) -> str:
        """The CloudFormation template (YAML)."""
        return yaml_text(self.template(self.uploads), width=120) if self.uploads else self._inline

    def template(self, uploads: dict[str, str]) -> dict[str, Any]:
        """The CloudFormation template; definitions inline, or read from the S3 keys in `uploads`."""
        parameters: dict[str, Any] = {"Environment": {
            "Type": "String", "AllowedValues": ["dev", "qa", "prod"], "Default": self.plan.env,
            "Description": "Environment the pipeline runs in"}}
        if uploads:
            parameters["DefinitionBucket"] = {"Type": "String", "Description": "S3 bucket that holds the state "
                                                                              "machine definitions (deploy.sh uploads them)"}
        for parameter in self.stack.parameters.values():
            entry: dict[str, Any] = {"Type": "String" if parameter.type == "Secret" else parameter.type,
                                     "Description": parameter.description}
            if parameter.default is not None:
                entry["Default"] = parameter.default
            if parameter.type == "Secret":
                entry["NoEcho"] = True
            parameters[parameter.name] = entry
        resources: dict[str, Any] = {}
        resources["StateMachineRole"] = {"Type": "AWS::IAM::Role", "Properties": {
            "Description": f"Runs the state machine of pipeline {self.plan.pipeline}",
            "AssumeRolePolicyDocument": _assume("states.amazonaws.com"),
            "Policies": [{"PolicyName": "integrations", "PolicyDocument": self.policy()}],
            "Tags": self.cfn_tags()}}
        resources["LogGroup"] = {"Type": "AWS::Logs::LogGroup", "Properties": {
            "LogGroupName": {"Fn::Sub": f"/aws/vendedlogs/states/{self.name}-${{Environment}}"},
            "RetentionInDays": LOG_RETENTION_DAYS}}
        for topic in self.stack.topics.values():
            properties: dict[str, Any] = {"Tags": self.cfn_tags()}
            scheme, address = attrs.astuple(channel(topic.channel))
            if scheme == "email":
                properties["Subscription"] = [{"Protocol": "email", "Endpoint": address}]
            elif scheme in ("https", "webhook"):
                properties["Subscription"] = [{"Protocol": "https", "Endpoint": "https://" + address}]
            resources[topic.name] = {"Type": "AWS::SNS::Topic", "Properties": properties}
        if self.stack.task_definitions:
            resources["TaskExecutionRole"] = {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": _assume("ecs-tasks.amazonaws.com"),
                "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                                                  "AmazonECSTaskExecutionRolePolicy"}]}}
            resources["ContainerLogGroup"] = {"Type": "AWS::Logs::LogGroup", "Properties": {
                "LogGroupName": {"Fn::Sub": f"/ecs/{self.name}-${{Environment}}"},
                "RetentionInDays": LOG_RETENTION_DAYS}}
        for definition in self.stack.task_definitions.values():
            container: dict[str, Any] = {
                "Name": "main", "Image": definition.image, "Essential": True, "Command": list(definition.command),
                "LogConfiguration": {"LogDriver": "awslogs", "Options": {
                    "awslogs-group": {"Ref": "ContainerLogGroup"}, "awslogs-region": {"Ref": "AWS::Region"},
                    "awslogs-stream-prefix": definition.name}}}
            if definition.environment:
                container["Environment"] = [{"Name": k, "Value": v} for k, v in definition.environment]
            resources[definition.name] = {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "RequiresCompatibilities": ["FARGATE"], "NetworkMode": "awsvpc", "Cpu": definition.cpu,
                "Memory": definition.memory, "ExecutionRoleArn": {"Fn::GetAtt": ["TaskExecutionRole", "Arn"]},
                "ContainerDefinitions": [container], "Tags": self.cfn_tags()}}
        if self.stack.databricks_connection:
            resources["DatabricksConnection"] = {"Type": "AWS::Events::Connection", "Properties": {
                "Description": "Databricks Jobs API token", "AuthorizationType": "API_KEY", "AuthParameters": {
                    "ApiKeyAuthParameters": {"ApiKeyName": "Authorization",
                                             "ApiKeyValue": {"Fn::Sub": "Bearer ${DatabricksToken}"}}}}}
        machines = zip(["", *self.parts], self.definitions().items(), self.machine_names("${Environment}"),
                       strict=True)
        for key, (file, machine), name in machines:
            location = {"DefinitionS3Location": {"Bucket": {"Ref": "DefinitionBucket"}, "Key": uploads[file]}} \
                if uploads else {"Definition": machine}
            resources[f"StateMachine{key}"] = {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                "StateMachineName": {"Fn::Sub": name},
                "StateMachineType": "STANDARD",
                **location,
                "DefinitionSubstitutions": {p: self.cfn_value(p) for p in placeholders(machine)},
                "RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]},
                "LoggingConfiguration": {"Level": "ERROR", "IncludeExecutionData": False, "Destinations": [
                    {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["LogGroup", "Arn"]}}}]},
                "Tags": self.cfn_tags()}}
        if self.triggered:
            resources["EventsRole"] = {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": _assume("events.amazonaws.com" if not self.timezoned()
                                                    else ["events.amazonaws.com", "scheduler.amazonaws.com"]),
                "Policies": [{"PolicyName": "start-execution", "PolicyDocument": {
                    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "states:StartExecution",
                                                            "Resource": {"Ref": "StateMachine"}}]}}]}}
        target = {"Arn": {"Ref": "StateMachine"}, "Id": "state-machine",
                  "RoleArn": {"Fn::GetAtt": ["EventsRole", "Arn"]}}
        for name, schedule in self.schedules:
            if schedule.timezone == "UTC":
                resources[name] = {"Type": "AWS::Events::Rule", "Properties": {
                    "Description": f"{self.plan.pipeline}: {schedule.cron} (UTC)",
                    "ScheduleExpression": eventbridge_cron(schedule), "State": "ENABLED", "Targets": [target]}}
            else:
                resources[name] = {"Type": "AWS::Scheduler::Schedule", "Properties": {
                    "Description": f"{self.plan.pipeline}: {schedule.cron} ({schedule.timezone})",
                    "ScheduleExpression": eventbridge_cron(schedule),
                    "ScheduleExpressionTimezone": schedule.timezone, "FlexibleTimeWindow": {"Mode": "OFF"},
                    "Target": {"Arn": {"Ref": "StateMachine"}, "RoleArn": {"Fn::GetAtt": ["EventsRole", "Arn"]}}}}
        for name, pattern in self.patterns:
            rule_target = dict(target)
            if name.startswith("ObjectCreated"):
                rule_target["InputTransformer"] = {"InputPathsMap": OBJECT_FIELDS, "InputTemplate": OBJECT_TEMPLATE}
            resources[name] = {"Type": "AWS::Events::Rule", "Properties": {
                "Description": f"Starts {self.plan.pipeline}", "EventPattern": pattern, "State": "ENABLED",
                "Targets": [rule_target]}}
        return {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": f"Step Functions pipeline {self.plan.pipeline}, generated by sparklec",
            "Parameters": parameters, "Resources": resources,
            "Outputs": {"StateMachineArn": {"Description": "ARN of the state machine",
                                            "Value": {"Ref": "StateMachine"}}},
        }

    def timezoned(self) -> bool:
        return any(s.timezone != "UTC" for _, s in self.schedules)

    def cfn_tags(self) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in self.tags()]

    def check_placeholders(self) -> None:
        """Raise `LoweringError` (E405) for a ``${name}`` in a definition that the stack does not declare for
        substitution: text a user wrote never pulls a secret, or anything else, into a state machine."""
        declared = {"Environment", "StateMachineName", "DatabricksConnection", "DatabricksConnection.Arn",
                    "TaskExecutionRole.Arn", *self.stack.topics, *self.stack.task_definitions,
                    *(f"{n}.Arn" for n in (*self.stack.topics, *self.stack.task_definitions)),
                    *self.stack.existing_topics, *(f"StateMachine{key}.Arn" for key in self.parts),
                    *(p.name for p in self.stack.parameters.values() if p.type != "Secret")}
        problems = []
        for file, machine in self.definitions().items():
            for name in placeholders(machine):
                if name not in declared:
                    states = [state for state, body in machine.get("States", {}).items()
                              if f"${{{name}}}" in json.dumps(body)]
                    problems.append(Diagnostic(
                        code="E405", span=self.plan.span,
                        message=f"`${{{name}}}` in {f'state `{states[0]}`' if states else file} names no parameter "
                                "or loop variable of the pipeline",
                        help="in text, `${name}` names a parameter or a loop variable of the pipeline: remove "
                             "it, or declare the parameter"))
        if problems:
            raise LoweringError(problems)

    def cfn_value(self, placeholder: str) -> Any:
        if placeholder in self.stack.existing_topics:
            return {"Fn::Sub": self.stack.existing_topics[placeholder]}
        if placeholder.endswith(".Arn"):
            return {"Fn::GetAtt": [placeholder.removesuffix(".Arn"), "Arn"]}
        parameter = self.stack.parameters.get(placeholder)
        if parameter is not None and parameter.type == "CommaDelimitedList":
            return {"Fn::Join": [",", {"Ref": placeholder}]}
        return {"Ref": placeholder}

    def policy(self) -> dict[str, Any]:
        statements = [{"Sid": "WriteLogs", "Effect": "Allow", "Action": [
            "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups"], "Resource": "*"}]
        for statement in self.stack.statements.values():
            resources = [sub(r.replace("${StateMachineName}", name)) for r in statement.resources
                         for name in (self.machine_names("${Environment}") if "${StateMachineName}" in r else [""])]
            statements.append({"Sid": statement.sid, "Effect": "Allow", "Action": list(statement.actions),
                               "Resource": resources if len(resources) > 1 else resources[0]})
        return {"Version": "2012-10-17", "Statement": statements}


def _assume(service: str | list[str]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]}


# --- Terraform ---------------------------------------------------------------------------------


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
        return _hcl_string(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = [f"{pad}{k if re.fullmatch(r'[A-Za-z_][A-Za-z0-9_-]*', k) else _hcl_string(k)} = {hcl(v, depth + 1)}"
                 for k, v in value.items()]
        return "{\n" + "\n".join(lines) + "\n" + "  " * depth + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(pad + hcl(v, depth + 1) for v in value) + ",\n" + "  " * depth + "]"
    raise TypeError(f"no HCL for {type(value).__name__}")


def _hcl_string(text: str) -> str:
    escaped = json.dumps(text, ensure_ascii=False)
    return escaped.replace("${", "$${").replace("%{", "%%{")


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Terraform:
    """main.tf: the same resources as the CloudFormation template, as Terraform (AWS provider 5)."""

    AWS = {"AWS::Partition": "data.aws_partition.current.partition", "AWS::Region": "data.aws_region.current.name",
           "AWS::AccountId": "data.aws_caller_identity.current.account_id", "Environment": "var.environment"}

    def __init__(self, templates: Templates):
        self.t = templates
        self.stack = templates.stack
        self.blocks: list[str] = []

    def reference(self, name: str) -> str:
        """The Terraform expression for a CloudFormation parameter or resource name."""
        if name in self.AWS:
            return self.AWS[name]
        if name == "StateMachineName":
            return "local.name"
        arn = name.endswith(".Arn")
        name = name.removesuffix(".Arn")
        if name in self.stack.topics:
            return f"aws_sns_topic.{snake(name)}.arn"
        if name in self.stack.task_definitions:
            return f"aws_ecs_task_definition.{snake(name)}.arn"
        if name.startswith("StateMachinePart"):
            return f"aws_sfn_state_machine.{name.removeprefix('StateMachine').lower()}.arn"
        if name == "DatabricksConnection":
            return "aws_cloudwatch_event_connection.databricks.arn"
        if name == "TaskExecutionRole" and arn:
            return "aws_iam_role.task_execution.arn"
        if name in self.stack.existing_topics:
            return self.template(self.stack.existing_topics[name])
        parameter = self.stack.parameters[name]
        return f'join(",", var.{snake(name)})' if parameter.type == "CommaDelimitedList" else f"var.{snake(name)}"

    def template(self, text: str) -> Hcl:
        """A CloudFormation `Fn::Sub` string as an HCL template string."""
        pieces = re.split(r"\$\{([A-Za-z0-9_:.]+)\}", text)
        if len(pieces) == 3 and not pieces[0] and not pieces[2]:
            return Hcl(self.reference(pieces[1]))
        out = ""
        for index, piece in enumerate(pieces):
            out += "${" + self.reference(piece) + "}" if index % 2 else _hcl_string(piece)[1:-1]
        return Hcl('"' + out + '"')

    def resource(self, kind: str, name: str, body: str) -> None:
        self.blocks.append(f'resource "{kind}" "{name}" {{\n{body}}}\n')

    def attributes(self, values: dict[str, Any]) -> str:
        return "".join(f"  {k} = {hcl(v, 1)}\n" for k, v in values.items())

    def render(self) -> str:
        t, stack = self.t, self.stack
        head = ['terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n'
                '      version = "~> 5.0"\n    }\n  }\n}\n',
                'provider "aws" {\n  region = var.region\n}\n',
                'variable "region" {\n  type        = string\n  description = "AWS region to deploy to"\n}\n',
                'variable "environment" {\n  type        = string\n  description = "Environment the pipeline runs in"\n'
                f'  default     = {_hcl_string(t.plan.env)}\n  validation {{\n'
                '    condition     = contains(["dev", "qa", "prod"], var.environment)\n'
                '    error_message = "The environment is one of dev, qa and prod."\n  }\n}\n']
        for parameter in stack.parameters.values():
            lines = [f"  type        = {'list(string)' if parameter.type == 'CommaDelimitedList' else 'string'}",
                     f"  description = {_hcl_string(parameter.description)}"]
            if parameter.default is not None:
                lines.append(f"  default     = {_hcl_string(parameter.default)}")
            if parameter.type == "Secret":
                lines.append("  sensitive   = true")
            head.append(f'variable "{snake(parameter.name)}" {{\n' + "\n".join(lines) + "\n}\n")
        head += ['data "aws_partition" "current" {}\n', 'data "aws_region" "current" {}\n',
                 'data "aws_caller_identity" "current" {}\n']
        definitions = "".join(f"  definition{'_' + key.lower() if key else ''} = "
                              f"{self.definition(definition_file(key), placeholders(definition))}\n"
                              for key, definition in {"": t.definition, **t.parts}.items())
        head.append(f'locals {{\n  name = "{machine_name(t.name, "${var.environment}")}"\n{definitions}'
                    f'  tags = {hcl(dict(t.tags()), 1)}\n}}\n')
        self.resource("aws_iam_role", "state_machine", self.attributes({
            "name": self.name("sfn"), "assume_role_policy": Hcl(f"jsonencode({hcl(self.assume('states.amazonaws.com'), 1)})"),
            "tags": Hcl("local.tags")}))
        self.resource("aws_iam_role_policy", "state_machine", self.attributes({
            "name": "integrations", "role": Hcl("aws_iam_role.state_machine.id"),
            "policy": Hcl(f"jsonencode({hcl(self.convert(t.policy()), 1)})")}))
        self.resource("aws_cloudwatch_log_group", "state_machine", self.attributes({
            "name": Hcl('"/aws/vendedlogs/states/${local.name}"'), "retention_in_days": LOG_RETENTION_DAYS}))
        for topic in stack.topics.values():
            name = snake(topic.name)
            self.resource("aws_sns_topic", name, self.attributes({
                "name": self.name(name.replace("_", "-"), MAX_LONG_NAME), "tags": Hcl("local.tags")}))
            scheme, address = attrs.astuple(channel(topic.channel))
            if scheme in ("email", "https", "webhook"):
                self.resource("aws_sns_topic_subscription", name, self.attributes({
                    "topic_arn": Hcl(f"aws_sns_topic.{name}.arn"), "protocol": "email" if scheme == "email" else "https",
                    "endpoint": address if scheme == "email" else "https://" + address}))
        if stack.task_definitions:
            self.resource("aws_iam_role", "task_execution", self.attributes({
                "name": self.name("task-execution"),
                "assume_role_policy": Hcl(f"jsonencode({hcl(self.assume('ecs-tasks.amazonaws.com'), 1)})")}))
            self.resource("aws_iam_role_policy_attachment", "task_execution", self.attributes({
                "role": Hcl("aws_iam_role.task_execution.name"),
                "policy_arn": Hcl('"arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/'
                                  'AmazonECSTaskExecutionRolePolicy"')}))
            self.resource("aws_cloudwatch_log_group", "containers", self.attributes({
                "name": Hcl('"/ecs/${local.name}"'), "retention_in_days": LOG_RETENTION_DAYS}))
        for definition in stack.task_definitions.values():
            container: dict[str, Any] = {
                "name": "main", "image": definition.image, "essential": True, "command": list(definition.command),
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": Hcl("aws_cloudwatch_log_group.containers.name"),
                    "awslogs-region": Hcl("data.aws_region.current.name"),
                    "awslogs-stream-prefix": definition.name}}}
            if definition.environment:
                container["environment"] = [{"name": k, "value": v} for k, v in definition.environment]
            self.resource("aws_ecs_task_definition", snake(definition.name), self.attributes({
                "family": self.name(snake(definition.name).replace("_", "-"), MAX_LONG_NAME),
                "requires_compatibilities": ["FARGATE"], "network_mode": "awsvpc", "cpu": definition.cpu,
                "memory": definition.memory, "execution_role_arn": Hcl("aws_iam_role.task_execution.arn"),
                "container_definitions": Hcl(f"jsonencode({hcl([container], 1)})"), "tags": Hcl("local.tags")}))
        if stack.databricks_connection:
            self.resource("aws_cloudwatch_event_connection", "databricks",
                          self.attributes({"name": self.name("databricks"), "authorization_type": "API_KEY"})
                          + '  auth_parameters {\n    api_key {\n      key   = "Authorization"\n'
                            '      value = "Bearer ${var.databricks_token}"\n    }\n  }\n')
        for key, name in zip(["", *t.parts], t.machine_names("${var.environment}"), strict=True):
            self.resource("aws_sfn_state_machine", key.lower() or "this", self.attributes({
                "name": Hcl("local.name") if not key else name, "type": "STANDARD",
                "role_arn": Hcl("aws_iam_role.state_machine.arn"),
                "definition": Hcl(f"local.definition{'_' + key.lower() if key else ''}"), "tags": Hcl("local.tags")})
                + '  logging_configuration {\n    log_destination        = '
                  '"${aws_cloudwatch_log_group.state_machine.arn}:*"\n'
                  '    include_execution_data = false\n    level                  = "ERROR"\n  }\n')
        if t.triggered:
            services = ["events.amazonaws.com"] + (["scheduler.amazonaws.com"] if t.timezoned() else [])
            self.resource("aws_iam_role", "events", self.attributes({
                "name": self.name("events"),
                "assume_role_policy": Hcl(f"jsonencode({hcl(self.assume(services), 1)})")}))
            self.resource("aws_iam_role_policy", "events", self.attributes({
                "name": "start-execution", "role": Hcl("aws_iam_role.events.id"),
                "policy": Hcl(f"jsonencode({hcl({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 'states:StartExecution', 'Resource': Hcl('aws_sfn_state_machine.this.arn')}]}, 1)})")}))
        rules: list[tuple[str, dict[str, Any]]] = []
        for name, schedule in t.schedules:
            if schedule.timezone == "UTC":
                rules.append((name, {"schedule_expression": eventbridge_cron(schedule)}))
            else:
                self.resource("aws_scheduler_schedule", snake(name), self.attributes({
                    "name": self.name(snake(name).replace("_", "-")),
                    "schedule_expression": eventbridge_cron(schedule),
                    "schedule_expression_timezone": schedule.timezone})
                    + '  flexible_time_window {\n    mode = "OFF"\n  }\n  target {\n'
                      '    arn      = aws_sfn_state_machine.this.arn\n    role_arn = aws_iam_role.events.arn\n  }\n')
        rules += [(name, {"event_pattern": Hcl(f"jsonencode({hcl(self.convert(pattern), 1)})")}) for name, pattern in t.patterns]
        for name, body in rules:
            key = snake(name)
            self.resource("aws_cloudwatch_event_rule", key, self.attributes({
                "name": self.name(key.replace("_", "-")), **body, "tags": Hcl("local.tags")}))
            transformer = ""
            if name.startswith("ObjectCreated"):
                transformer = (f"  input_transformer {{\n    input_paths = {hcl(OBJECT_FIELDS, 2)}\n"
                               f"    input_template = {_hcl_string(OBJECT_TEMPLATE)}\n  }}\n")
            self.resource("aws_cloudwatch_event_target", key, self.attributes({
                "rule": Hcl(f"aws_cloudwatch_event_rule.{key}.name"), "arn": Hcl("aws_sfn_state_machine.this.arn"),
                "role_arn": Hcl("aws_iam_role.events.arn")}) + transformer)
        tail = 'output "state_machine_arn" {\n  value = aws_sfn_state_machine.this.arn\n}\n'
        return "\n".join(head + self.blocks + [tail])

    def assume(self, service: str | list[str]) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": Hcl("data.aws_caller_identity.current.account_id")}}}]}

    def definition(self, file: str, names: list[str]) -> str:
        """`file` with its ${...} placeholders replaced, one replace() per placeholder."""
        if not names:  # HCL wants an expression on the line of its `=`
            return f'file("${{path.module}}/{file}")'
        replaced = "replace(" * len(names) + f'\n    file("${{path.module}}/{file}")'
        for placeholder in names:
            replaced += f',\n    "$${{{placeholder}}}", {self.reference(placeholder)})'
        return replaced

    def name(self, suffix: str, limit: int = MAX_SHORT_NAME) -> Hcl:
        """The name of one of the pipeline's resources, within `limit` characters."""
        return Hcl(f'"{aws_name(self.t.name, limit, "${var.environment}", suffix)}"')

    def convert(self, value: Any) -> Any:
        """A CloudFormation value (with `Fn::Sub`) as a Terraform one."""
        if isinstance(value, dict):
            if set(value) == {"Fn::Sub"}:
                return self.template(value["Fn::Sub"])
            return {k: self.convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.convert(v) for v in value]
        return value
