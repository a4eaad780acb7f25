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
from sparklec.backends.stepfunctions import resources as r
from sparklec.backends.stepfunctions.asl import Machine
from sparklec.backends.stepfunctions.cloudformation import CloudFormation
from sparklec.backends.stepfunctions.stack import Stack, logical_id
from sparklec.backends.stepfunctions.terraform import MAX_SHORT_NAME, Hcl, Terraform, snake
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


def placeholders(definition: Machine) -> list[str]:
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

    def __init__(self, plan: ExecutionPlan, stack: Stack, definition: Machine, upstream: list[str],
                 parts: dict[str, Machine] | None = None):
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
                                           "detail": {"status": ["SUCCEEDED"], "stateMachineArn": [r.Sub(
                                               "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"
                                               f"stateMachine:{machine_name(u, '${Environment}')}")]}})
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

    # the resources -------------------------------------------------------------------------

    def resources(self, uploads: dict[str, str]) -> list[r.Resource]:
        """Every resource of the stack; definitions read from the S3 keys in `uploads`, else inline."""
        stack, name = self.stack, self.name
        found: list[r.Resource] = [
            r.Role("StateMachineRole", "sfn", "states.amazonaws.com", tagged=True,
                   description=f"Runs the state machine of pipeline {self.plan.pipeline}",
                   policy=("integrations", self.policy())),
            r.LogGroup("LogGroup", r.Sub(f"/aws/vendedlogs/states/{name}-${{Environment}}"), LOG_RETENTION_DAYS)]
        for topic in stack.topics.values():
            scheme, address = attrs.astuple(channel(topic.channel))
            protocol = "email" if scheme == "email" else "https" if scheme in ("https", "webhook") else None
            found.append(r.Topic(topic.name, snake(topic.name).replace("_", "-"), protocol,
                                 address if scheme == "email" else f"https://{address}" if protocol else None))
        if stack.task_definitions:
            found += [r.Role("TaskExecutionRole", "task-execution", "ecs-tasks.amazonaws.com", managed=r.Sub(
                          "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")),
                      r.LogGroup("ContainerLogGroup", r.Sub(f"/ecs/{name}-${{Environment}}"), LOG_RETENTION_DAYS)]
        found += [r.TaskDefinition(d.name, snake(d.name).replace("_", "-"), d.image, d.command, d.environment,
                                   d.cpu, d.memory) for d in stack.task_definitions.values()]
        if stack.databricks_connection:
            found.append(r.Connection("DatabricksConnection", "databricks"))
        for key, (file, machine), machine_name in zip(["", *self.parts], self.definitions().items(),
                                                      self.machine_names("${Environment}"), strict=True):
            found.append(r.StateMachine(key, r.Sub(machine_name), file, machine, tuple(
                (p, self.substitution(p)) for p in placeholders(machine)), uploads.get(file)))
        if self.triggered:
            services = ("events.amazonaws.com", "scheduler.amazonaws.com") if self.timezoned() else \
                "events.amazonaws.com"
            found.append(r.Role("EventsRole", "events", services, policy=("start-execution", {
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "states:StartExecution",
                                                        "Resource": r.Ref("StateMachine")}]})))
        for rule, schedule in self.schedules:
            description = f"{self.plan.pipeline}: {schedule.cron} ({schedule.timezone})"
            found.append(r.Rule(rule, snake(rule).replace("_", "-"), description, schedule=eventbridge_cron(schedule))
                         if schedule.timezone == "UTC" else
                         r.Schedule(rule, snake(rule).replace("_", "-"), description, eventbridge_cron(schedule),
                                    schedule.timezone))
        for rule, pattern in self.patterns:
            objects = rule.startswith("ObjectCreated")
            found.append(r.Rule(rule, snake(rule).replace("_", "-"), f"Starts {self.plan.pipeline}", pattern=pattern,
                                fields=OBJECT_FIELDS if objects else None, template=OBJECT_TEMPLATE if objects else None))
        return found

    def substitution(self, placeholder: str) -> r.Value:
        """What fills ``${placeholder}`` in a definition: a topic that exists, a resource's ARN, a parameter."""
        if placeholder in self.stack.existing_topics:
            return r.Sub(self.stack.existing_topics[placeholder])
        if placeholder.endswith(".Arn"):
            return r.Arn(placeholder.removesuffix(".Arn"))
        return r.Ref(placeholder)

    def definitions(self) -> dict[str, Machine]:
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
        return CloudFormation(self.stack.parameters, self.tags()).template(
            f"Step Functions pipeline {self.plan.pipeline}, generated by sparklec", parameters, self.resources(uploads))

    def terraform(self) -> str:
        """main.tf: the same resources (definitions read from the files beside it)."""
        return Terraform(self.stack.parameters, self.resources({}), self.terraform_name).render(
            self.plan.env, machine_name(self.name, "${var.environment}"), self.tags())

    def terraform_name(self, suffix: str, limit: int = MAX_SHORT_NAME) -> Hcl:
        """The name of one of the pipeline's resources in main.tf, within `limit` characters."""
        return Hcl(f'"{aws_name(self.name, limit, "${var.environment}", suffix)}"')

    def timezoned(self) -> bool:
        return any(s.timezone != "UTC" for _, s in self.schedules)

    def check_placeholders(self) -> None:
        """Raise `LoweringError` (E405) for a ``${name}`` in a definition that the stack does not declare for
        substitution: text a user wrote never pulls a secret, or anything else, into a state machine."""
        declared = {"Environment", "StateMachineName", "DatabricksConnection.Arn",
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

    def policy(self) -> dict[str, Any]:
        statements: list[dict[str, Any]] = [{"Sid": "WriteLogs", "Effect": "Allow", "Action": [
            "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups"], "Resource": "*"}]
        for statement in self.stack.statements.values():
            resources = [_sub(arn.replace("${StateMachineName}", name)) for arn in statement.resources
                         for name in (self.machine_names("${Environment}") if "${StateMachineName}" in arn else [""])]
            statements.append({"Sid": statement.sid, "Effect": "Allow", "Action": list(statement.actions),
                               "Resource": resources if len(resources) > 1 else resources[0]})
        return {"Version": "2012-10-17", "Statement": statements}


def _sub(text: str) -> str | r.Sub:
    """`text`, or a `Sub` when it holds ``${...}``."""
    return r.Sub(text) if "${" in text else text
