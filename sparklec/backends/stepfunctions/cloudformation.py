"""The CloudFormation template of a pipeline: its `resources` printed as CloudFormation resources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from typing_extensions import assert_never

from sparklec.backends.stepfunctions import resources as r
from sparklec.backends.stepfunctions.stack import Parameter


class CloudFormation:
    """Prints neutral values and resources as CloudFormation, with `tags` on what takes them."""

    def __init__(self, parameters: Mapping[str, Parameter], tags: Sequence[tuple[str, str]]):
        self.parameters = parameters
        self.tags = [{"Key": k, "Value": v} for k, v in tags]

    def value(self, value: Any) -> Any:
        """A neutral value as CloudFormation: `Fn::Sub`, `Ref`, `Fn::GetAtt`, a list parameter joined."""
        match value:
            case r.Sub():
                return {"Fn::Sub": value.text}
            case r.Ref() if value.name in self.parameters and self.parameters[value.name].type == "CommaDelimitedList":
                return {"Fn::Join": [",", {"Ref": value.name}]}
            case r.Ref():
                return {"Ref": value.name}
            case r.Arn():
                return {"Fn::GetAtt": [value.resource, "Arn"]}
            case dict():
                return {k: self.value(v) for k, v in value.items()}
            case list():
                return [self.value(v) for v in value]
        return value

    def resource(self, resource: r.Resource) -> dict[str, Any]:
        """The `Type` and `Properties` of `resource`."""
        match resource:
            case r.Role():
                properties: dict[str, Any] = {}
                if resource.description:
                    properties["Description"] = resource.description
                properties["AssumeRolePolicyDocument"] = self.value(r.assume(resource.service))
                if resource.policy:
                    name, document = resource.policy
                    properties["Policies"] = [{"PolicyName": name, "PolicyDocument": self.value(document)}]
                if resource.managed:
                    properties["ManagedPolicyArns"] = [self.value(resource.managed)]
                if resource.tagged:
                    properties["Tags"] = self.tags
                return {"Type": "AWS::IAM::Role", "Properties": properties}
            case r.LogGroup():
                return {"Type": "AWS::Logs::LogGroup", "Properties": {
                    "LogGroupName": self.value(resource.path), "RetentionInDays": resource.retention}}
            case r.Topic():
                properties = {"Tags": self.tags}
                if resource.protocol:
                    properties["Subscription"] = [{"Protocol": resource.protocol, "Endpoint": resource.endpoint}]
                return {"Type": "AWS::SNS::Topic", "Properties": properties}
            case r.TaskDefinition():
                container: dict[str, Any] = {
                    "Name": "main", "Image": resource.image, "Essential": True, "Command": list(resource.command),
                    "LogConfiguration": {"LogDriver": "awslogs", "Options": {
                        "awslogs-group": {"Ref": "ContainerLogGroup"}, "awslogs-region": {"Ref": "AWS::Region"},
                        "awslogs-stream-prefix": resource.id}}}
                if resource.environment:
                    container["Environment"] = [{"Name": k, "Value": v} for k, v in resource.environment]
                return {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                    "RequiresCompatibilities": ["FARGATE"], "NetworkMode": "awsvpc", "Cpu": resource.cpu,
                    "Memory": resource.memory, "ExecutionRoleArn": {"Fn::GetAtt": ["TaskExecutionRole", "Arn"]},
                    "ContainerDefinitions": [container], "Tags": self.tags}}
            case r.Connection():
                return {"Type": "AWS::Events::Connection", "Properties": {
                    "Description": "Databricks Jobs API token", "AuthorizationType": "API_KEY", "AuthParameters": {
                        "ApiKeyAuthParameters": {"ApiKeyName": "Authorization",
                                                 "ApiKeyValue": {"Fn::Sub": "Bearer ${DatabricksToken}"}}}}}
            case r.StateMachine():
                location: dict[str, Any] = {"DefinitionS3Location": {"Bucket": {"Ref": "DefinitionBucket"}, "Key": resource.upload}} \
                    if resource.upload else {"Definition": resource.definition}
                return {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                    "StateMachineName": self.value(resource.name), "StateMachineType": "STANDARD", **location,
                    "DefinitionSubstitutions": {k: self.value(v) for k, v in resource.substitutions},
                    "RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]},
                    "LoggingConfiguration": {"Level": "ERROR", "IncludeExecutionData": False, "Destinations": [
                        {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["LogGroup", "Arn"]}}}]},
                    "Tags": self.tags}}
            case r.Rule():
                target: dict[str, Any] = {"Arn": {"Ref": "StateMachine"}, "Id": "state-machine",
                                          "RoleArn": {"Fn::GetAtt": ["EventsRole", "Arn"]}}
                if resource.fields:
                    target["InputTransformer"] = {"InputPathsMap": resource.fields,
                                                  "InputTemplate": resource.template}
                starts: dict[str, Any] = {"ScheduleExpression": resource.schedule} if resource.schedule else {
                    "EventPattern": self.value(resource.pattern)}
                return {"Type": "AWS::Events::Rule", "Properties": {
                    "Description": resource.description, **starts, "State": "ENABLED", "Targets": [target]}}
            case r.Schedule():
                return {"Type": "AWS::Scheduler::Schedule", "Properties": {
                    "Description": resource.description, "ScheduleExpression": resource.expression,
                    "ScheduleExpressionTimezone": resource.timezone, "FlexibleTimeWindow": {"Mode": "OFF"},
                    "Target": {"Arn": {"Ref": "StateMachine"}, "RoleArn": {"Fn::GetAtt": ["EventsRole", "Arn"]}}}}
            case _:
                assert_never(resource)

    def template(self, description: str, parameters: dict[str, Any], resources: Sequence[r.Resource]
                 ) -> dict[str, Any]:
        """The whole template."""
        for parameter in self.parameters.values():
            entry: dict[str, Any] = {"Type": "String" if parameter.type == "Secret" else parameter.type,
                                     "Description": parameter.description}
            if parameter.default is not None:
                entry["Default"] = parameter.default
            if parameter.type == "Secret":
                entry["NoEcho"] = True
            parameters[parameter.name] = entry
        return {
            "AWSTemplateFormatVersion": "2010-09-09", "Description": description, "Parameters": parameters,
            "Resources": {resource.id: self.resource(resource) for resource in resources},
            "Outputs": {"StateMachineArn": {"Description": "ARN of the state machine",
                                            "Value": {"Ref": "StateMachine"}}},
        }

