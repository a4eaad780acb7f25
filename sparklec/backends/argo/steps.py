"""Each step of the execution plan as an Argo template: container, script, resource or suspend.

Where a task runs follows its runtime.  On Kubernetes (the default) SQL
tasks run Spark SQL with `spark-sql` in the official Spark image, JDBC
ingestion reads through Spark's JDBC source, containers and scripts run
their own images, Kubernetes resources are applied by Argo and approvals
are suspend gates.  Tasks on a remote runtime are started and watched from
a small pod: Databricks jobs through the Jobs API (Python), AWS Glue, EMR
Serverless, Lambda and Athena through the AWS CLI image.  Credentials come
from Kubernetes Secrets named in the README.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from typing_extensions import assert_never

from sparklec.backends.argo.names import literal, sanitise
from sparklec.backends.argo.shapes import Template
from sparklec.ir.channels import SNS_ARN
from sparklec.ir.policy import Retry
from sparklec.lowering import (
    Approval, Checks, Container, JdbcRead, Job, Landing, Materialize, Message, Pause, PlanTask, Query, Resource, Script,
    Sql, TargetProfile, defaults,
)

if TYPE_CHECKING:
    from sparklec.backends.argo.workflow import WorkflowBuilder

SPARK_IMAGE = "spark:3.5.3"
DELTA_PACKAGE = "io.delta:delta-spark_2.12:3.2.1"
"""Delta Lake for Spark 3.5: the tables SQL steps write are Delta tables, which MERGE INTO needs."""
DELTA_CONF = ("spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension",
              "spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog")
PYTHON_IMAGE = "python:3.12-slim"
AWS_CLI_IMAGE = "amazon/aws-cli:2.15.51"
CURL_IMAGE = "curlimages/curl:8.10.1"

DATABRICKS_RUN = '''\
"""Run a Databricks job (Jobs API 2.1) and wait for it to end; fail when it does not succeed."""
import json, os, time, urllib.request

host, token = os.environ["DATABRICKS_HOST"].rstrip("/"), os.environ["DATABRICKS_TOKEN"]


def call(method, path, body=None):
    request = urllib.request.Request(host + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


run = call("POST", "/api/2.1/jobs/run-now", {"job_id": int(os.environ["JOB_ID"]),
                                             "job_parameters": json.loads(os.environ["JOB_PARAMETERS"])})
print("started run", run["run_id"])
while True:
    state = call("GET", "/api/2.1/jobs/runs/get?run_id=%d" % run["run_id"])["state"]
    if state.get("result_state"):
        print("run", run["run_id"], "ended:", state["result_state"], state.get("state_message", ""))
        raise SystemExit(0 if state["result_state"] == "SUCCESS" else 1)
    if state["life_cycle_state"] in ("SKIPPED", "INTERNAL_ERROR"):
        raise SystemExit("run %d: %s" % (run["run_id"], state["life_cycle_state"]))
    time.sleep(30)
'''

AWS_RUNS = {
    "glue": '''set -euo pipefail
run=$(aws glue start-job-run --job-name "$JOB" --arguments "$ARGUMENTS" --query JobRunId --output text)
echo "started Glue run $run"
while true; do
  state=$(aws glue get-job-run --job-name "$JOB" --run-id "$run" --query JobRun.JobRunState --output text)
  case "$state" in
    SUCCEEDED) exit 0 ;;
    FAILED|ERROR|TIMEOUT|STOPPED|EXPIRED) echo "Glue run $run: $state" >&2; exit 1 ;;
  esac
  sleep 30
done
''',
    "emr_serverless": '''set -euo pipefail
run=$(aws emr-serverless start-job-run --application-id "$APPLICATION" --execution-role-arn "$ROLE" \\
  --job-driver "$DRIVER" --query jobRunId --output text)
echo "started EMR Serverless run $run"
while true; do
  state=$(aws emr-serverless get-job-run --application-id "$APPLICATION" --job-run-id "$run" \\
    --query jobRun.state --output text)
  case "$state" in
    SUCCESS) exit 0 ;;
    FAILED|CANCELLED) echo "EMR Serverless run $run: $state" >&2; exit 1 ;;
  esac
  sleep 30
done
''',
    "lambda": '''set -euo pipefail
aws lambda invoke --function-name "$JOB" --payload "$ARGUMENTS" --cli-binary-format raw-in-base64-out \\
  /tmp/response.json --query FunctionError --output text | grep -qx None
cat /tmp/response.json
''',
    "athena": '''set -euo pipefail
for i in $(seq 1 "$STATEMENTS"); do
  sql="STATEMENT_$i"
  query=$(aws athena start-query-execution --query-string "${!sql}" --work-group "$WORKGROUP" \\
    --query QueryExecutionId --output text)
  echo "started Athena query $query"
  while true; do
    state=$(aws athena get-query-execution --query-execution-id "$query" \\
      --query QueryExecution.Status.State --output text)
    case "$state" in
      SUCCEEDED) break ;;
      FAILED|CANCELLED) echo "Athena query $query: $state" >&2; exit 1 ;;
    esac
    sleep 5
  done
done
''',
}
"""Shell scripts (in the AWS CLI image) that start work on an AWS service and wait for it to end."""
SNS_PUBLISH = ('set -euo pipefail\ncase "$TOPIC" in arn:*) arn="$TOPIC" ;; '
               '*) arn=$(aws sns create-topic --name "$TOPIC" --query TopicArn --output text) ;; esac\n'
               'aws sns publish --topic-arn "$arn" --subject "$SUBJECT" --message "$MESSAGE"\n')
"""A shell script (in the AWS CLI image) that publishes a message to an SNS topic, named or by its ARN."""


PROFILE = TargetProfile("argo", defaults(sql="k8s", jobs="k8s", containers="k8s"), inline_runtime="k8s")
"""Everything runs in pods (SQL as `spark-sql`, transforms only SQL reads inside it) unless it names a remote
runtime."""


class Steps:
    """Task → template, for one pipeline's workflow."""

    def __init__(self, workflow: WorkflowBuilder):
        self.workflow = workflow
        self.options = workflow.options

    def template(self, plan: PlanTask, name: str, inputs: list[str]) -> Template:
        """The template of the step `plan` named `name`; `inputs` are the loop variables it receives."""
        template: Template = {"name": name}
        parameters = [{"name": v} for v in inputs]
        artifacts = [self.workflow.artifact(a, inputs) for a in plan.inputs]
        if parameters or artifacts:
            template["inputs"] = {k: v for k, v in (("parameters", parameters), ("artifacts", artifacts)) if v}
        if plan.outputs:
            template["outputs"] = {"artifacts": [self.workflow.artifact(a, inputs) for a in plan.outputs]}
        template.update(self.body(plan, inputs))
        policy = plan.policy
        if policy.timeout and "suspend" not in template:
            template["activeDeadlineSeconds"] = policy.timeout
        if policy.retry and policy.retry.limit and "suspend" not in template and "resource" not in template:
            template["retryStrategy"] = _retry(policy.retry)
        return template

    def body(self, plan: PlanTask, inputs: list[str]) -> Template:
        action = plan.action
        match action:
            case Pause():
                return {"suspend": {"duration": f"{action.seconds}s"}}
            case Approval():
                return {"suspend": {}}
            case Message():
                return self.notify(action, inputs)
            case Resource():
                resource = {"action": action.action, "manifest": self.workflow.text(action.manifest, inputs)}
                resource |= {k: literal(v) for k, v in (("successCondition", action.success_condition),
                                                        ("failureCondition", action.failure_condition)) if v}
                return {"resource": resource}
            case Script():
                return {"script": {"image": literal(action.image), "command": ["python"],
                                   "source": self.workflow.text(action.source, inputs), **self.resources(plan)}}
            case Container():
                container: dict[str, Any] = {"image": literal(action.image)}
                if action.command:
                    container["command"] = [self.workflow.text(c, inputs) for c in action.command]
                if action.args:
                    container["args"] = [self.workflow.text(a, inputs) for a in action.args]
                if action.env:
                    container["env"] = [{"name": k, "value": self.workflow.text(v, inputs)} for k, v in action.env]
                return {"container": {**container, **self.resources(plan)}}
            case Job():
                return self.job(plan, action, inputs)
            case Sql() if plan.runtime == "athena":
                return self.athena(action, inputs)
            case Sql():
                return self.spark_sql(plan, self.sql(action), inputs)
            case JdbcRead():
                return self.spark_sql(plan, _jdbc_read(action), inputs, secret=action.connection)
            case Query() | Materialize() | Checks() | Landing():
                raise ValueError(f"`{plan.name}` is a warehouse's step, and Argo's profile has no warehouse")
            case _:
                assert_never(action)

    def resources(self, plan: PlanTask) -> dict[str, Any]:
        resources = plan.policy.resources
        if resources is None:
            return {}
        requests = {k: v for k, v in (("cpu", resources.cpu_request), ("memory", resources.memory_request)) if v}
        limits = {k: v for k, v in (("cpu", resources.cpu_limit), ("memory", resources.memory_limit)) if v}
        value = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
        return {"resources": value} if value else {}

    # --- SQL on Spark ---------------------------------------------------------------------------

    def sql(self, action: Sql) -> str:
        """Spark SQL for `spark-sql -e`: a failed check (severity error) stops it with `assert_true`."""
        return action.gate.enforced if action.gate is not None else ";\n".join(action.statements)

    def spark_sql(self, plan: PlanTask, statements: str, inputs: list[str], secret: str | None = None
                  ) -> Template:
        image = self.options.get("spark_image", SPARK_IMAGE)
        container: dict[str, Any] = {
            "image": image, "command": ["/opt/spark/bin/spark-sql"],
            "args": ["--master", "local[*]", *self.delta(), "-e", self.workflow.text(statements, inputs)],
            **self.resources(plan)}
        if secret:
            name = sanitise(secret)
            self.workflow.secrets[name] = f"`url`, `user` and `password` of the `{secret}` JDBC connection"
            container["env"] = [{"name": f"JDBC_{key.upper()}", "valueFrom": {"secretKeyRef": {"name": name,
                                                                                                "key": key}}}
                                for key in ("url", "user", "password")]
        return {"container": container}

    def delta(self) -> list[str]:
        """The `spark-sql` arguments that load Delta Lake: from Maven, unless `spark_packages` names others (or
        ``none``, for an image that has it)."""
        packages = self.options.get("spark_packages", DELTA_PACKAGE)
        return [*(("--packages", packages) if packages != "none" else ()),
                *(item for conf in DELTA_CONF for item in ("--conf", conf))]

    # --- remote runtimes ------------------------------------------------------------------------

    def job(self, plan: PlanTask, action: Job, inputs: list[str]) -> Template:
        """A pod that starts the user's job on its runtime and waits for it to end."""
        runtime = plan.runtime
        assert runtime is not None, "a job has a runtime"
        arguments = {k: self.workflow.text(v, inputs) for k, v in action.arguments}
        job = self.workflow.parameter(f"{plan.name}-{'job-id' if runtime == 'databricks' else 'job'}",
                                      f"the {runtime.replace('_', ' ')} job that runs `{plan.name}`")
        if runtime == "databricks":
            self.workflow.secrets["databricks"] = "`host` (the workspace URL) and `token` of Databricks"
            api = [{"name": "DATABRICKS_HOST", "valueFrom": {"secretKeyRef": {"name": "databricks", "key": "host"}}},
                   {"name": "DATABRICKS_TOKEN", "valueFrom": {"secretKeyRef": {"name": "databricks", "key": "token"}}},
                   {"name": "JOB_ID", "value": job}, {"name": "JOB_PARAMETERS", "value": json.dumps(arguments)}]
            return {"script": {"image": PYTHON_IMAGE, "command": ["python"], "source": DATABRICKS_RUN, "env": api}}
        env: list[dict[str, Any]] = [self.region()]
        if runtime == "glue":
            env += [{"name": "JOB", "value": job},
                    {"name": "ARGUMENTS", "value": json.dumps({f"--{k}": v for k, v in arguments.items()})}]
        elif runtime == "lambda":
            env += [{"name": "JOB", "value": job}, {"name": "ARGUMENTS", "value": json.dumps(arguments)}]
        else:
            driver = {"sparkSubmit": {"entryPoint": job, "entryPointArguments": [
                item for key, value in arguments.items() for item in (f"--{key}", value)]}}
            env += [{"name": "APPLICATION", "value": self.workflow.parameter(
                        "emr-serverless-application-id", "the EMR Serverless application")},
                    {"name": "ROLE", "value": self.workflow.parameter(
                        "emr-serverless-role-arn", "the IAM role EMR Serverless jobs run as")},
                    {"name": "DRIVER", "value": json.dumps(driver)}]
        return self.aws(AWS_RUNS[runtime], env)

    def athena(self, action: Sql, inputs: list[str]) -> Template:
        """A pod that runs the statements on Athena one after the other; a failed check calls `fail`."""
        statements = [action.gate.enforced] if action.gate is not None else list(action.statements)
        env = [self.region(), {"name": "STATEMENTS", "value": str(len(statements))},
               *({"name": f"STATEMENT_{i}", "value": self.workflow.text(sql, inputs)}
                 for i, sql in enumerate(statements, start=1)),
               {"name": "WORKGROUP", "value": self.workflow.parameter("athena-workgroup", "the Athena workgroup",
                                                                      "primary")}]
        return self.aws(AWS_RUNS["athena"], env)

    def region(self) -> dict[str, Any]:
        """The environment variable of the AWS region (a workflow parameter)."""
        return {"name": "AWS_REGION", "value": self.workflow.parameter("aws-region", "the AWS region of the jobs")}

    def aws(self, script: str, env: list[dict[str, Any]]) -> Template:
        """The AWS CLI pod that runs the shell `script` with `env`."""
        self.workflow.secrets["aws"] = ("AWS credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`), unless "
                                        "the service account has an IAM role")
        return {"container": {"image": AWS_CLI_IMAGE, "command": ["bash", "-c", script],
                              "env": env, "envFrom": [{"secretRef": {"name": "aws", "optional": True}}]}}

    # --- notifications ------------------------------------------------------------------------

    def notify(self, action: Message, inputs: list[str]) -> Template:
        """A message to a webhook (Slack, Teams, HTTPS), an SNS topic, or e-mail over SMTP."""
        scheme, address = action.channel.scheme, action.channel.address
        env: list[dict[str, Any]]
        message = self.workflow.text(action.message, inputs)
        subject = self.workflow.text(action.subject, inputs)
        if scheme in ("sns", SNS_ARN):
            return self.aws(SNS_PUBLISH, [{"name": "TOPIC", "value": address}, {"name": "SUBJECT", "value": subject},
                                          {"name": "MESSAGE", "value": message}, self.region()])
        secret = sanitise(f"{scheme}-{address}")
        if scheme == "email":
            self.workflow.secrets[secret] = f"`url` (smtps://host:port), `user` and `password` to send to {address}"
            script = ('printf "Subject: %s\\nTo: %s\\n\\n%s\\n" "$SUBJECT" "$RECIPIENT" "$MESSAGE" > /tmp/mail && '
                      'curl -fsS --ssl-reqd --url "$SMTP_URL" --user "$SMTP_USER:$SMTP_PASSWORD" '
                      '--mail-from "$SMTP_USER" --mail-rcpt "$RECIPIENT" --upload-file /tmp/mail')
            env = [{"name": "RECIPIENT", "value": address}, {"name": "SUBJECT", "value": subject},
                   {"name": "MESSAGE", "value": message}]
            env += [{"name": f"SMTP_{key.upper()}", "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
                    for key in ("url", "user", "password")]
        else:
            self.workflow.secrets[secret] = f"`url`: the incoming webhook of {action.channel.text}"
            script = 'curl -fsS -X POST -H "Content-Type: application/json" --data "$PAYLOAD" "$WEBHOOK_URL"'
            env = [{"name": "PAYLOAD", "value": json.dumps({"text": f"{subject}: {message}"})},
                   {"name": "WEBHOOK_URL", "valueFrom": {"secretKeyRef": {"name": secret, "key": "url"}}}]
        return {"container": {"image": CURL_IMAGE, "command": ["sh", "-c", script], "env": env}}


def _jdbc_read(action: JdbcRead) -> str:
    """Spark SQL that copies the source table through Spark's JDBC source, credentials from the environment."""
    source = action.source.replace("'", "''")
    return (f"{action.create_schema};\n"
            "CREATE OR REPLACE TEMPORARY VIEW source USING jdbc OPTIONS (url '${env:JDBC_URL}', "
            f"dbtable '{source}', user '${{env:JDBC_USER}}', password '${{env:JDBC_PASSWORD}}');\n"
            f"CREATE OR REPLACE TABLE {action.target} AS SELECT * FROM source")


def _retry(retry: Retry) -> dict[str, Any]:
    """Argo's retryStrategy: `all` retries always, task failures and timeouts on failure, the rest
    on transient errors."""
    if "all" in retry.on:
        policy = "Always"
    elif {"task_failed", "timeout"} & set(retry.on):
        policy = "OnFailure"
    else:
        policy = "OnTransientError"
    backoff: dict[str, Any] = {"duration": f"{retry.interval}s", "factor": _number(retry.backoff)}
    if retry.max_delay is not None:
        backoff["cap"] = f"{retry.max_delay}s"
    return {"limit": retry.limit, "retryPolicy": policy, "backoff": backoff}


def _number(value: float) -> int | str:
    """Argo takes the backoff factor as an integer or a string."""
    return int(value) if float(value).is_integer() else str(value)
