"""Each step of the execution plan as the states of a real Step Functions service integration.

Which service runs a task is its runtime: the task's own, else the
pipeline's default when that runtime can run the task, else the default for
the task's kind (`PROFILE`).  SQL tasks default to Athena, jobs (ingestion, training,
scoring, model selection) to AWS Glue, containers and scripts to ECS on
Fargate, Kubernetes resources to EKS.  Jobs are the user's (a Glue job, an
EMR Serverless entry point, a Databricks job, a Lambda function), named by a
stack parameter; they receive the task's settings as arguments (see the
generated README).  Containers and scripts run the image the pipeline names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import yaml

from typing_extensions import assert_never

from sparklec.backends.stepfunctions.artifacts import ArtifactMoves
from sparklec.backends.stepfunctions.asl import Retrier, State
from sparklec.backends.stepfunctions.stack import TaskDefinition, logical_id
from sparklec.diagnostics import Diagnostic, LoweringError
from sparklec.ir import tasks as t
from sparklec.ir.pipeline import Pipeline
from sparklec.ir.policy import Policy, Retry
from sparklec.ir.template import Ref, pieces
from sparklec.lowering import (
    RUNTIME_NAMES, Approval, Checks, Container, JdbcRead, Job, Landing, Materialize, Message, Pause, PlanTask, Query,
    Resource, Script, Sql, TargetProfile, defaults, inlined_transforms,
)

if TYPE_CHECKING:
    from sparklec.backends.stepfunctions.machine import MachineBuilder, Scope

PROFILE = TargetProfile("stepfunctions", defaults(sql="athena", jobs="glue", containers="ecs"), inline_runtime="athena")
"""SQL runs on Athena (transforms only SQL reads run inside it), jobs on AWS Glue, containers on ECS Fargate."""
RETRY_ERRORS = {
    "lambda": {"throttled": ["Lambda.TooManyRequestsException"],
               "service_error": ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException"]},
    "athena": {"throttled": ["Athena.TooManyRequestsException"], "service_error": ["Athena.InternalServerException"]},
    "ecs": {"throttled": ["ECS.AmazonECSException"], "service_error": ["ECS.AmazonECSException"]},
    "databricks": {"throttled": ["States.Http.StatusCode.429"],
                   "service_error": ["States.Http.StatusCode.500", "States.Http.StatusCode.502",
                                     "States.Http.StatusCode.503", "States.Http.StatusCode.504"]},
}
"""Per integration, the Step Functions error names of throttling and of service faults."""
FARGATE_SIZES = ((256, (512, 1024, 2048)), (512, (1024, 2048, 3072, 4096)),
                 (1024, tuple(range(2048, 8193, 1024))), (2048, tuple(range(4096, 16385, 1024))),
                 (4096, tuple(range(8192, 30721, 1024))))
"""Fargate's valid CPU units and, for each, the memory sizes (MiB) it allows."""
POLL_SECONDS = 30
NEXT = "__next__"
"""In a task's Choice state, the rule target that becomes the step after the task."""


_INTRINSIC_ESCAPES = str.maketrans({c: "\\" + c for c in "\\'{}"})


def intrinsic_text(text: str) -> str:
    """`text` inside a string of an intrinsic function (``States.Format('...')``): `\\`, `'`, `{` and `}`
    escaped with a backslash."""
    return text.translate(_INTRINSIC_ESCAPES)


def athena_inlined(pipeline: Pipeline) -> dict[str, t.Transform]:
    """The transforms that run inside the Athena statements of their readers (no state of their own)."""
    return inlined_transforms(pipeline, PROFILE)


@attrs.frozen
class Fragment:
    """The states of one task: where it starts, and which states go on to the next step."""

    entry: str
    states: dict[str, State]
    exits: tuple[str, ...]


class Integrations:
    """Task → states, for one pipeline's machine."""

    def __init__(self, machine: MachineBuilder):
        self.machine = machine
        self.stack = machine.stack
        self.plan = machine.plan
        self.artifacts = ArtifactMoves(self)

    # --- dispatch ----------------------------------------------------------------------

    def task(self, task: PlanTask, scope: Scope, failure: bool = False) -> Fragment:
        """The states of `task`; in the failure handler (`failure`) a notification tells what failed."""
        action = task.action
        match action:
            case Pause():
                name = self.machine.name(task.name, task.span, synthetic=False)
                return Fragment(name, {name: {"Type": "Wait", "Seconds": action.seconds}}, (name,))
            case Message():
                return self.notify(task, action, scope, failure)
            case Approval():
                return self.approval(task, action)
            case Sql() if task.runtime == "athena":
                return self.athena(task, action, scope)
            case Container() | Script():
                return self.container(task, action, scope)
            case Resource():
                name = self.machine.name(task.name, task.span, synthetic=False)
                return Fragment(name, {name: self.kubernetes_call(task, action)}, (name,))
            case Job():
                return self.job(task, action, scope)
            case Sql() | JdbcRead():
                raise LoweringError([Diagnostic(
                    code="E402", message=f"{task.kind.replace('_', ' ')} task `{task.name}` cannot run on "
                                         f"{RUNTIME_NAMES.get(task.runtime or '', task.runtime)} from Step Functions",
                    span=task.span, help="run it on athena (SQL), or as a job on glue, emr_serverless or databricks")])
            case Query() | Materialize() | Checks() | Landing():
                raise ValueError(f"`{task.name}` is a warehouse's step, and Step Functions' profile has no warehouse")
            case _:
                assert_never(action)

    # --- common parts -----------------------------------------------------------------------

    def state(self, task: PlanTask, resource: str, parameters: dict[str, Any], service: str) -> State:
        """A Task state with the task's retry, timeout and result handling."""
        policy = task.policy
        state: State = {"Type": "Task", "Resource": resource, "Parameters": parameters}
        if task.description:
            state["Comment"] = task.description
        if policy.timeout:
            state["TimeoutSeconds"] = policy.timeout
        state.update(self.result(task, service))
        if policy.retry is not None:
            state["Retry"] = [_retry(policy.retry, service)]
        return state

    def result(self, task: PlanTask, service: str, fields: Mapping[str, str] = {}) -> State:
        """ResultSelector/ResultPath: keep only what conditions read (`fields`: field → JSONPath)."""
        wanted = self.machine.consumed.get(task.name)
        if not wanted:
            return {"ResultPath": None}
        selector: dict[str, Any] = {}
        for field in sorted(wanted):
            if field == "status":
                selector["status"] = "succeeded"
            elif field in fields:
                selector[f"{field}.$"] = fields[field]
            elif service == "lambda":
                selector[f"{field}.$"] = f"$.Payload{path_key(field)}"
            else:
                raise LoweringError([Diagnostic(
                    code="E402", message=f"a condition reads `{task.name}.{field}`, which Step Functions does not "
                                         f"get from {task.kind} tasks on {service}", span=task.span,
                    help="conditions can read `status` of any task"
                         + (f" and {', '.join(sorted(fields))} of this one" if fields else ""))])
        return {"ResultSelector": selector, "ResultPath": f"${result_key(task.name)}"}

    def text(self, key: str, text: str, scope: Scope, more: Mapping[str, str] = {}) -> dict[str, str]:
        """``{key: text}``, or ``{key.$: States.Format(...)}`` when `text` names loop variables, parameters or
        the `more` names (each to its intrinsic argument)."""
        names = {n: f"$.vars.{n}" for n in scope.vars} | {p.name: f"$.params{path_key(p.name)}"
                                                           for p in self.plan.parameters if p.name not in scope.vars}
        names |= more
        parts = pieces(text)
        if not any(isinstance(part, Ref) and part.name in names for part in parts):
            return {key: text}
        template, arguments = "", []
        for part in parts:
            if isinstance(part, Ref) and part.name in names:
                template += "{}"
                arguments.append(names[part.name])
            else:
                template += intrinsic_text(part if isinstance(part, str) else part.text)
        return {f"{key}.$": f"States.Format('{template}', {', '.join(arguments)})"}

    def values(self, values: Mapping[str, str], scope: Scope) -> dict[str, str]:
        """An object of strings, each written with `text`."""
        result: dict[str, str] = {}
        for key, value in values.items():
            result.update(self.text(key, value, scope))
        return result

    def texts(self, key: str, items: tuple[str, ...], scope: Scope, more: Mapping[str, str] = {}) -> dict[str, Any]:
        """A list of strings; with variables, built by `States.Array`."""
        parts = [self.text("v", item, scope, more) for item in items]
        if all("v" in p for p in parts):
            return {key: list(items)}
        values = [p["v.$"] if "v.$" in p else "'" + intrinsic_text(p["v"]) + "'" for p in parts]
        return {f"{key}.$": f"States.Array({', '.join(values)})"}

    # --- notifications and approvals ---------------------------------------------------------

    def notify(self, task: PlanTask, action: Message, scope: Scope, failure: bool) -> Fragment:
        name = self.machine.name(task.name, task.span, synthetic=False)
        parameters: dict[str, Any] = {"TopicArn": self.stack.topic(action.channel.text),
                                      "Subject": action.subject[:100]}
        if failure:
            template = intrinsic_text(action.message) + " Cause: {}"
            parameters["Message.$"] = f"States.Format('{template}', $.error.Cause)"
        else:
            parameters.update(self.text("Message", action.message, scope))
        state = self.state(task, "arn:aws:states:::sns:publish", parameters, "sns")
        return Fragment(name, {name: state}, (name,))

    def approval(self, task: PlanTask, action: Approval) -> Fragment:
        name = self.machine.name(task.name, task.span, synthetic=False)
        topic = self.stack.topic("approvals://" + self.plan.pipeline)
        template = intrinsic_text(action.prompt)
        parameters = {"TopicArn": topic, "Subject": f"Approval needed: {self.plan.pipeline}"[:100],
                      "Message.$": f"States.Format('{template}. To approve, run: aws stepfunctions send-task-success "
                                   "--task-output \\{\\} --task-token {}', $$.Task.Token)"}
        state = self.state(task, "arn:aws:states:::sns:publish.waitForTaskToken", parameters, "sns")
        return Fragment(name, {name: state}, (name,))

    # --- SQL on Athena ----------------------------------------------------------------------

    def athena(self, task: PlanTask, action: Sql, scope: Scope) -> Fragment:
        self.allow_athena()
        if action.gate is not None:
            return self.athena_check(task, action.statements[0], action.gate.fails, scope)
        statements = action.statements
        states: dict[str, State] = {}
        names = [self.machine.name(task.name, task.span, synthetic=False)]
        names += [self.machine.name(f"{task.name}: statement {i}") for i in range(2, len(statements) + 1)]
        for index, (name, statement) in enumerate(zip(names, statements, strict=True)):
            state = self.state(task, "arn:aws:states:::athena:startQueryExecution.sync",
                               self.query(statement, scope), "athena")
            if index + 1 < len(names):
                state["Next"] = names[index + 1]
            states[name] = state
        return Fragment(names[0], states, (names[-1],))

    def query(self, statement: str, scope: Scope) -> dict[str, Any]:
        return {**self.text("QueryString", statement, scope), "WorkGroup": "${AthenaWorkGroup}",
                "ResultConfiguration": {"OutputLocation": "${AthenaOutputLocation}"}}

    def athena_check(self, task: PlanTask, statement: str, fails: bool, scope: Scope) -> Fragment:
        """Count failing rows, read the count, and fail when it is not zero (severity `error`)."""
        name = self.machine.name(task.name, task.span, synthetic=False)
        read = self.machine.name(f"{task.name}: read result")
        key = result_key(task.name)
        run = self.state(task, "arn:aws:states:::athena:startQueryExecution.sync", self.query(statement, scope),
                         "athena")
        run.update({"ResultSelector": {"QueryExecutionId.$": "$.QueryExecution.QueryExecutionId"},
                    "ResultPath": f"${key}", "Next": read})
        get = self.state(task, "arn:aws:states:::aws-sdk:athena:getQueryResults",
                         {"QueryExecutionId.$": f"${key}.QueryExecutionId"}, "athena")
        get.pop("TimeoutSeconds", None)
        get.update({"ResultSelector": {"status": "succeeded", "failures.$":
                                       "States.StringToJson($.ResultSet.Rows[1].Data[0].VarCharValue)"},
                    "ResultPath": f"${key}"})
        states = {name: run, read: get}
        if not fails:
            return Fragment(name, states, (read,))
        decide = self.machine.name(f"{task.name}: passed?")
        failed = self.machine.name(f"{task.name}: failed")
        get["Next"] = decide
        states[decide] = {"Type": "Choice", "Choices": [
            {"Variable": f"${key}.failures", "NumericGreaterThan": 0, "Next": failed}], "Default": NEXT}
        states.update(self.failing(failed, f"{task.name} found rows that fail its checks"))
        return Fragment(name, states, (decide,))

    def failing(self, name: str, cause: str) -> dict[str, State]:
        """A state that fails the run with `cause`: through the failure handler at the top level."""
        return {name: {"Type": "Fail", "Error": "QualityCheckFailed", "Cause": cause}}

    def allow_athena(self) -> None:
        self.stack.parameter("AthenaWorkGroup", "Athena workgroup that runs the SQL tasks", "primary")
        self.stack.parameter("AthenaOutputLocation", "S3 URI for Athena query results (s3://bucket/prefix/)")
        self.stack.parameter("DataBucket", "Name of the S3 bucket that holds the pipeline's tables")
        self.stack.allow("RunAthenaQueries", ("athena:StartQueryExecution", "athena:GetQueryExecution",
                                              "athena:GetQueryResults", "athena:StopQueryExecution"),
                         "arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:workgroup/${AthenaWorkGroup}")
        self.stack.allow("ReadWriteGlueCatalog", ("glue:GetDatabase", "glue:GetDatabases", "glue:GetTable",
                                                  "glue:GetTables", "glue:CreateTable", "glue:UpdateTable",
                                                  "glue:DeleteTable", "glue:GetPartition", "glue:GetPartitions",
                                                  "glue:BatchCreatePartition"),
                         "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog",
                         "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:database/*",
                         "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/*")
        self.stack.allow("ReadWriteData", ("s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:PutObject",
                                           "s3:DeleteObject", "s3:AbortMultipartUpload"),
                         "arn:${AWS::Partition}:s3:::${DataBucket}", "arn:${AWS::Partition}:s3:::${DataBucket}/*")

    # --- containers -----------------------------------------------------------------------------

    def container(self, task: PlanTask, action: Container | Script, scope: Scope) -> Fragment:
        name = self.machine.name(task.name, task.span, synthetic=False)
        image, command, environment = _image_and_command(action)
        runtime = task.runtime
        if runtime == "k8s":
            state = self.eks_job(task, image, command, environment, scope)
        elif runtime == "batch":
            state = self.batch(task, command, environment, scope)
        else:
            state = self.ecs(task, image, command, environment, scope)
        return Fragment(name, {name: state}, (name,))

    def ecs(self, task: PlanTask, image: str, command: tuple[str, ...], environment: tuple[tuple[str, str], ...],
            scope: Scope) -> State:
        self.artifacts.unmoved(task, "ECS")
        cluster = self.stack.parameter("EcsCluster", "ECS cluster (name or ARN) that runs container tasks")
        self.stack.parameter("Subnets", "Comma-separated subnet ids for Fargate tasks", type="CommaDelimitedList")
        self.stack.parameter("SecurityGroups", "Comma-separated security group ids for Fargate tasks",
                             type="CommaDelimitedList")
        cpu, memory = _fargate_size(task.policy)
        definition = self.stack.task_definition(TaskDefinition(
            name=logical_id(task.name, "TaskDefinition"), image=image, command=command, environment=environment,
            cpu=str(cpu), memory=str(memory)))
        parameters: dict[str, Any] = {
            "LaunchType": "FARGATE", "Cluster": cluster, "TaskDefinition": definition,
            "NetworkConfiguration": {"AwsvpcConfiguration": {
                "Subnets.$": "States.StringSplit('${Subnets}', ',')",
                "SecurityGroups.$": "States.StringSplit('${SecurityGroups}', ',')", "AssignPublicIp": "DISABLED"}},
        }
        overridden = self.texts("Command", command, scope)
        if "Command.$" in overridden:
            parameters["Overrides"] = {"ContainerOverrides": [{"Name": "main", **overridden}]}
        self.stack.allow("RunEcsTasks", ("ecs:RunTask",), definition)
        self.stack.allow("WatchEcsTasks", ("ecs:StopTask", "ecs:DescribeTasks"), "*")
        self.stack.allow("PassEcsRoles", ("iam:PassRole",), "${TaskExecutionRole.Arn}")
        self.managed_rule("StepFunctionsGetEventsForECSTaskRule")
        return self.state(task, "arn:aws:states:::ecs:runTask.sync", parameters, "ecs")

    def batch(self, task: PlanTask, command: tuple[str, ...], environment: tuple[tuple[str, str], ...],
              scope: Scope) -> State:
        self.artifacts.unmoved(task, "AWS Batch")
        queue = self.stack.parameter("BatchJobQueue", "AWS Batch job queue (name or ARN)")
        definition = self.stack.parameter(logical_id(task.name, "BatchJobDefinition"),
                                          f"AWS Batch job definition that runs the image of `{task.name}`")
        parameters: dict[str, Any] = {"JobName": _job_name(task.name), "JobQueue": queue, "JobDefinition": definition,
                                      "ContainerOverrides": {
                                          **self.texts("Command", command, scope),
                                          "Environment": [{"Name": k, "Value": v} for k, v in environment]}}
        self.stack.allow("RunBatchJobs", ("batch:SubmitJob", "batch:DescribeJobs", "batch:TerminateJob"),
                         "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:job-definition/*",
                         "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:job-queue/*",
                         "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:job/*")
        self.managed_rule("StepFunctionsGetEventsForBatchJobsRule")
        return self.state(task, "arn:aws:states:::batch:submitJob.sync", parameters, "batch")

    def eks(self) -> dict[str, str]:
        self.stack.allow("DescribeEksCluster", ("eks:DescribeCluster",),
                         "arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/${EksClusterName}")
        return {"ClusterName": self.stack.parameter("EksClusterName", "EKS cluster that runs Kubernetes tasks"),
                "CertificateAuthority": self.stack.parameter("EksCertificateAuthority",
                                                             "The EKS cluster's certificate authority data"),
                "Endpoint": self.stack.parameter("EksEndpoint", "The EKS cluster's API server endpoint (https://...)")}

    def eks_job(self, task: PlanTask, image: str, command: tuple[str, ...], environment: tuple[tuple[str, str], ...],
                scope: Scope) -> State:
        namespace = self.stack.parameter("EksNamespace", "Kubernetes namespace of the pipeline's jobs", "default")
        container: dict[str, Any] = {"name": "main", "image": image, **self.texts("command", command, scope)}
        if environment:
            container["env"] = [{"name": k, "value": v} for k, v in environment]
        resources = task.policy.resources
        if resources is not None:
            requests = {k: v for k, v in (("cpu", resources.cpu_request), ("memory", resources.memory_request)) if v}
            limits = {k: v for k, v in (("cpu", resources.cpu_limit), ("memory", resources.memory_limit)) if v}
            container["resources"] = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
        pod = self.artifacts.pod(task, container, scope)
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"generateName": _job_name(task.name).lower().replace("_", "-")[:50] + "-"},
               "spec": {"backoffLimit": 0, "template": {"spec": pod}}}
        parameters = {**self.eks(), "Namespace": namespace, "LogOptions": {"RetrieveLogs": True}, "Job": job}
        return self.state(task, "arn:aws:states:::eks:runJob.sync", parameters, "eks")

    def kubernetes_call(self, task: PlanTask, action: Resource) -> State:
        manifest = yaml.safe_load(action.manifest)
        if not isinstance(manifest, dict) or "apiVersion" not in manifest or "kind" not in manifest:
            raise LoweringError([Diagnostic(code="E402", message=f"the manifest of `{task.name}` has no apiVersion "
                                                                 "and kind", span=task.span,
                                            help="give a complete Kubernetes object")])
        metadata = manifest.get("metadata") or {}
        namespace = metadata.get("namespace", "default")
        version = str(manifest["apiVersion"])
        kind = str(manifest["kind"]).lower()
        plural = kind[:-1] + "ies" if kind.endswith("y") else kind + ("es" if kind.endswith("s") else "s")
        base = f"/api/{version}" if "/" not in version else f"/apis/{version}"
        path = f"{base}/namespaces/{namespace}/{plural}"
        method = {"create": "POST", "apply": "POST", "replace": "PUT", "patch": "PATCH",
                  "delete": "DELETE", "get": "GET"}[action.action]
        if method != "POST":
            path += f"/{metadata.get('name', '')}"
        parameters: dict[str, Any] = {**self.eks(), "Method": method, "Path": path}
        if method in ("POST", "PUT", "PATCH"):
            parameters["RequestBody"] = manifest
        return self.state(task, "arn:aws:states:::eks:call", parameters, "eks")

    def managed_rule(self, rule: str) -> None:
        self.stack.allow("ManageSyncRules", ("events:PutTargets", "events:PutRule", "events:DescribeRule"),
                         f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{rule}")

    # --- jobs -------------------------------------------------------------------------------

    def job(self, task: PlanTask, action: Job, scope: Scope) -> Fragment:
        name = self.machine.name(task.name, task.span, synthetic=False)
        arguments = dict(action.arguments)
        runtime = task.runtime
        if runtime == "databricks":
            return self.databricks(task, name, arguments, scope)
        if runtime == "glue":
            job = self.stack.parameter(logical_id(task.name, "GlueJob"), f"Glue job that runs `{task.name}`",
                                       _job_name(f"{self.plan.pipeline}-{task.name}"))
            parameters = {"JobName": job, "Arguments": self.values({f"--{k}": v for k, v in arguments.items()}, scope)}
            self.stack.allow("RunGlueJobs", ("glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns",
                                             "glue:BatchStopJobRun"),
                             f"arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:job/{job}")
            state = self.state(task, "arn:aws:states:::glue:startJobRun.sync", parameters, "glue")
        elif runtime == "lambda":
            function = self.stack.parameter(logical_id(task.name, "Function"),
                                            f"Lambda function that runs `{task.name}`")
            self.stack.allow("InvokeFunctions", ("lambda:InvokeFunction",),
                             f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{function}",
                             f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{function}:*")
            state = self.state(task, "arn:aws:states:::lambda:invoke",
                               {"FunctionName": function, "Payload": self.values(arguments, scope)}, "lambda")
        else:
            state = self.emr_serverless(task, arguments, scope)
        return Fragment(name, {name: state}, (name,))

    def emr_serverless(self, task: PlanTask, arguments: dict[str, str], scope: Scope) -> State:
        application = self.stack.parameter("EmrServerlessApplicationId", "EMR Serverless application id")
        role = self.stack.parameter("EmrServerlessJobRoleArn", "IAM role EMR Serverless jobs run as")
        entry = self.stack.parameter(logical_id(task.name, "EntryPoint"),
                                     f"S3 URI of the Spark script that runs `{task.name}`")
        argv = [item for key, value in arguments.items() for item in (f"--{key}", value)]
        parameters = {"ApplicationId": application, "ExecutionRoleArn": role, "Name": _job_name(task.name),
                      "JobDriver": {"SparkSubmit": {"EntryPoint": entry,
                                                    **self.texts("EntryPointArguments", tuple(argv), scope)}}}
        applications = f"arn:${{AWS::Partition}}:emr-serverless:${{AWS::Region}}:${{AWS::AccountId}}:/applications/{application}"
        self.stack.allow("RunEmrServerlessJobs", ("emr-serverless:StartJobRun", "emr-serverless:GetJobRun",
                                                  "emr-serverless:CancelJobRun"),
                         applications, applications + "/jobruns/*")
        self.stack.allow("PassEmrServerlessRole", ("iam:PassRole",), role)
        self.managed_rule("StepFunctionsGetEventsForEMRServerlessJobRule")
        return self.state(task, "arn:aws:states:::emr-serverless:startJobRun.sync", parameters, "emr")

    def databricks(self, task: PlanTask, name: str, arguments: dict[str, str], scope: Scope) -> Fragment:
        """Jobs API: run-now, then poll runs/get every 30 s until the run ends."""
        host = self.stack.parameter("DatabricksHost", "Databricks workspace URL (https://...)")
        self.stack.parameter("DatabricksToken", "Databricks access token", type="Secret")
        job = self.stack.parameter(logical_id(task.name, "DatabricksJobId"), f"Databricks job id that runs `{task.name}`")
        self.stack.databricks_connection = True
        self.stack.allow("CallDatabricks", ("states:InvokeHTTPEndpoint",), self.machine.own_arn("stateMachine"))
        self.stack.allow("UseDatabricksConnection", ("events:RetrieveConnectionCredentials",),
                         "${DatabricksConnection.Arn}")
        self.stack.allow("ReadDatabricksToken", ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
                         "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:events!connection/*")
        key = result_key(task.name)
        wait, check, decide, failed = (self.machine.name(f"{task.name}: {suffix}")
                                       for suffix in ("wait", "get run", "done?", "failed"))
        authentication = {"ConnectionArn": "${DatabricksConnection.Arn}"}
        start = self.state(task, "arn:aws:states:::http:invoke", {
            "ApiEndpoint": f"{host}/api/2.1/jobs/run-now", "Method": "POST", "Authentication": authentication,
            "RequestBody": {"job_id.$": f"States.StringToJson('{job}')",
                            "job_parameters": self.values(arguments, scope)}}, "databricks")
        start.update({"ResultSelector": {"run_id.$": "$.ResponseBody.run_id"}, "ResultPath": f"${key}",
                      "Next": wait})
        poll = self.state(task, "arn:aws:states:::http:invoke", {
            "ApiEndpoint": f"{host}/api/2.1/jobs/runs/get", "Method": "GET", "Authentication": authentication,
            "QueryParameters": {"run_id.$": f"States.Format('{{}}', ${key}.run_id)"}}, "databricks")
        poll.pop("TimeoutSeconds", None)
        poll.update({"ResultSelector": {"run_id.$": "$.ResponseBody.run_id", "state.$": "$.ResponseBody.state",
                                        "status": "succeeded"},
                     "ResultPath": f"${key}", "Next": decide})
        state = f"${key}.state"
        states: dict[str, State] = {
            name: start,
            wait: {"Type": "Wait", "Seconds": POLL_SECONDS, "Next": check},
            check: poll,
            decide: {"Type": "Choice", "Choices": [
                {"And": [{"Variable": f"{state}.result_state", "IsPresent": True},
                         {"Variable": f"{state}.result_state", "StringEquals": "SUCCESS"}], "Next": NEXT},
                {"Variable": f"{state}.life_cycle_state", "StringMatches": "*TERMINAT*", "Next": failed},
                {"Variable": f"{state}.life_cycle_state", "StringEquals": "SKIPPED", "Next": failed},
                {"Variable": f"{state}.life_cycle_state", "StringEquals": "INTERNAL_ERROR", "Next": failed},
            ], "Default": wait},
            failed: {"Type": "Fail", "Error": "DatabricksRunFailed",
                     "Cause": f"the Databricks run of {task.name} did not succeed"},
        }
        return Fragment(name, states, (decide,))


def _retry(retry: Retry, service: str) -> Retrier:
    names = RETRY_ERRORS.get(service, {})
    if "all" in retry.on:
        errors = ["States.ALL"]
    else:
        errors = []
        for on in retry.on:
            if on == "timeout":
                errors.append("States.Timeout")
            elif on == "task_failed":
                errors.append("States.TaskFailed")
            else:
                errors.extend(names.get(on, ["States.TaskFailed"]))
        errors = list(dict.fromkeys(errors))
    rule: Retrier = {"ErrorEquals": errors, "IntervalSeconds": max(1, retry.interval),
                            "MaxAttempts": retry.limit, "BackoffRate": max(1.0, float(retry.backoff))}
    if retry.max_delay is not None:
        rule["MaxDelaySeconds"] = retry.max_delay
    return rule


SCRIPT_VARIABLE = "SPARKLEC_SCRIPT"


def _image_and_command(action: Container | Script) -> tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Image, command and environment; a script's source travels in an environment variable."""
    if isinstance(action, Script):
        return (action.image, ("python", "-c", f"import os; exec(os.environ['{SCRIPT_VARIABLE}'])"),
                ((SCRIPT_VARIABLE, action.source),))
    return action.image, (*action.command, *action.args), action.env


def _fargate_size(policy: Policy) -> tuple[int, int]:
    """The smallest Fargate size that holds the task's CPU and memory limits (or requests)."""
    resources = policy.resources
    cpu_text = resources and (resources.cpu_limit or resources.cpu_request)
    memory_text = resources and (resources.memory_limit or resources.memory_request)
    cpu = _cpu_units(cpu_text) if cpu_text else 1024
    memory = _mebibytes(memory_text) if memory_text else 2048
    for units, memories in FARGATE_SIZES:
        if units >= cpu and memories[-1] >= memory:
            return units, next(m for m in memories if m >= memory)
    return FARGATE_SIZES[-1][0], FARGATE_SIZES[-1][1][-1]


def _cpu_units(text: str) -> int:
    return int(float(text[:-1]) * 1024 / 1000) if text.endswith("m") else int(float(text) * 1024)


def _mebibytes(text: str) -> int:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024, "K": 1 / 1048.576, "M": 1 / 1.048576,
             "G": 1000 / 1.048576}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(float(text) / 1048576)


def _job_name(text: str) -> str:
    """A job name AWS services accept: letters, digits, `-` and `_`, at most 128 characters."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text)[:128]


def path_key(name: str) -> str:
    """`name` as a JSONPath member step: ``.name``, or ``['name']`` when it is not an identifier."""
    return f".{name}" if name.isidentifier() else "['" + name.replace("\\", "\\\\").replace("'", "\\'") + "']"


def result_key(task: str) -> str:
    """Where a task's result is kept in the execution state: a top-level key, so parallel branches merge."""
    return path_key(f"result_{task}")
