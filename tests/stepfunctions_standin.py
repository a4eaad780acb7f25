"""Generated state machines run as written by moto's Step Functions interpreter, their Athena and Databricks
calls, and the Glue and EMR Serverless jobs they start, answered by stand-ins that run the SQL on DuckDB.

`athena:startQueryExecution.sync` runs the query it is given (Athena SQL, read by sqlglot and written for
DuckDB, Trino's `fail` raising) and answers as Athena's GetQueryExecution does; `aws-sdk:athena:getQueryResults` answers with the
rows of that query in Athena's `ResultSet` shape.  A query DuckDB rejects fails the task, as a failing
Athena query does.  `http:invoke` of the Databricks Jobs API runs, for `jobs/run-now`, what `sparklec-job`
runs with the run's job parameters (Databricks SQL written for DuckDB; an `INSERT OVERWRITE` as a delete and
an insert; `assert_true` as Spark's) and answers with its `run_id`; `jobs/runs/get` answers with the run's
`state` as the Jobs API does (`spark_on_duckdb`): a statement that fails makes a FAILED run, not a failed call.
`glue:startJobRun.sync` and `emr-serverless:startJobRun.sync` run `sparklec-job` with the job's arguments
(Glue's `--key value` map, EMR's entry-point arguments) and fail the task when it fails; a task of a
kind `sparklec-job` does not run (an ingestion, a model's scoring) runs the test's own job in its place.
`ecs:runTask.sync` and `eks:runJob.sync` record the container's command and succeed, or fail when the
test says so; a Kubernetes job's artifact moves are carried out against an S3 of the test's.  Other integrations are moto's own (SNS).  moto's JSONPath is made to read a value behind array indices as AWS
does, and retries and Wait states do not wait.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import types
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import duckdb
import sqlglot

from sparklec import job
from sparklec.ir import Column, Dataset
from sparklec.local.engine import relation_columns, table_exists
from spark_on_duckdb import SparkOnDuckDB


ONE_AT_A_TIME = threading.Lock()
"""Held while a stand-in works on its database: the branches of a Parallel state run in threads, and a DuckDB
connection takes one call at a time."""


class AthenaOnDuckDB:
    """The queries run on `connection`, with their results kept for `getQueryResults`."""

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self.connection = connection
        self.results: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
        self.queries: list[str] = []
        connection.execute("CREATE OR REPLACE MACRO fail(message) AS error(message)")  # Trino's `fail`

    def start(self, query: str) -> dict[str, Any]:
        """StartQueryExecution, to its end: the query's id and state."""
        self.queries.append(query)
        cursor = None
        with ONE_AT_A_TIME:
            for statement in sqlglot.transpile(query, read="athena", write="duckdb"):
                cursor = self.connection.execute(statement)
            names = [d[0] for d in cursor.description] if cursor is not None and cursor.description else []
            found = cursor.fetchall() if names else []
        identifier = uuid.uuid4().hex
        self.results[identifier] = (names, found)
        return {"QueryExecution": {"QueryExecutionId": identifier, "Query": query,
                                   "Status": {"State": "SUCCEEDED"}}}

    def result(self, identifier: str) -> dict[str, Any]:
        """GetQueryResults: a header row, then the rows, every value as text."""
        names, found = self.results[identifier]
        rows = [{"Data": [{"VarCharValue": n} for n in names]}]
        rows += [{"Data": [{} if v is None else {"VarCharValue": str(v)} for v in row]} for row in found]
        return {"ResultSet": {"Rows": rows}}


OwnJob = Callable[[dict[str, str], duckdb.DuckDBPyConnection], None]
"""A job of the user's, run with its step's arguments on the database."""


class JobsOnDuckDB:
    """The runs of `sparklec-job` that Databricks, Glue and EMR Serverless jobs start, on `connection`; tasks
    of the kinds `own` names run the user's job of that kind instead."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, own: Mapping[str, OwnJob] | None = None):
        self.connection = connection
        self.own = dict(own or {})
        self.runs: list[dict[str, Any]] = []
        self.statements: list[str] = []

    def call(self, endpoint: str, parameters: dict[str, Any]) -> dict[str, Any]:
        """The response of `http:invoke` to the Databricks Jobs API `endpoint`."""
        if endpoint.endswith("/api/2.1/jobs/run-now"):
            body = parameters["RequestBody"]
            self.run(body["job_parameters"], int(body["job_id"]))
            return {"run_id": len(self.runs) - 1}
        assert endpoint.endswith("/api/2.1/jobs/runs/get"), endpoint
        return self.runs[int(parameters["QueryParameters"]["run_id"])]

    def run(self, given: dict[str, str], job_id: int | str = "") -> dict[str, Any]:
        """A run to its end, as the Jobs API describes it: a failing statement makes a FAILED run."""
        state = {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS", "state_message": ""}
        with ONE_AT_A_TIME:
            warehouse = SparkOnDuckDB(self.connection, given.get("dialect", "databricks"))
            try:
                if given.get("task") in self.own:
                    self.own[given["task"]](given, self.connection)
                for statement in [] if given.get("task") in self.own else job.statements(given, self.columns):
                    warehouse.execute(statement)
            except (duckdb.Error, SystemExit) as error:
                state.update(result_state="FAILED", state_message=str(error))
        self.statements += warehouse.ran
        self.runs.append({"run_id": len(self.runs), "job_id": job_id, "state": state})
        return self.runs[-1]

    def columns(self, table: str) -> tuple[Column, ...]:
        found = self.connection.execute(f"SELECT count(*) FROM information_schema.tables WHERE "
                                        f"table_schema || '.' || table_name = '{table}'").fetchone()
        if not found or not found[0]:
            return ()
        return relation_columns(self.connection, table)

    def finished(self, given: dict[str, str], service: str) -> dict[str, Any]:
        """A Glue or EMR Serverless job run, to its end (`.sync`): its description, or the error it fails with."""
        state = self.run(given, service)["state"]
        if state["result_state"] != "SUCCESS":
            raise RuntimeError(f"{service} job run failed: {state['state_message']}")
        return {"glue": {"JobRunState": "SUCCEEDED", "Id": f"jr_{len(self.runs)}"},
                "emr-serverless": {"JobRun": {"State": "SUCCESS", "JobRunId": str(len(self.runs))}}}[service]


Files = dict[str, str]
"""Files by path (a container's view of its volumes) or by S3 URL (the bucket)."""


class Containers:
    """The ECS tasks and EKS jobs the state machine runs: each container's command is recorded, and the run
    fails when `fails` says so of the command.  A Kubernetes job's artifact moves (`aws s3 sync` and `cp`
    between its volumes and `s3`) are carried out, in the pod's order; `acts` does what the user's container
    does to the files it sees."""

    def __init__(self, fails: Callable[[list[str]], bool] = lambda command: False,
                 acts: Callable[[list[str], Files], None] = lambda command, files: None):
        self.fails = fails
        self.acts = acts
        self.commands: list[list[str]] = []
        self.s3: Files = {}

    def run(self, service: str, parameters: dict[str, Any]) -> dict[str, Any]:
        """`ecs:runTask.sync` or `eks:runJob.sync` to its end: what AWS describes when it stops, or the error."""
        if service == "ecs":
            [override] = parameters["Overrides"]["ContainerOverrides"]
            self.user(service, list(override.get("Command", [])), {})
            return {"Tasks": [{"LastStatus": "STOPPED", "StopCode": "EssentialContainerExited",
                               "Containers": [{"Name": "main", "ExitCode": 0}]}]}
        pod = parameters["Job"]["spec"]["template"]["spec"]
        volumes: dict[str, Files] = {v["name"]: {} for v in pod.get("volumes", [])}
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            command = [*container.get("command", []), *container.get("args", [])]
            if container["name"] == "main":
                self.user(service, command, volumes, container.get("volumeMounts", []))
            else:
                [mount] = container["volumeMounts"]
                self.move(command, volumes[mount["name"]], mount["mountPath"])
        return {"ResponseBody": {"status": {"succeeded": 1}}}

    def user(self, service: str, command: list[str], volumes: dict[str, Files],
             mounts: Sequence[Mapping[str, str]] = ()) -> None:
        """The user's container: it sees its mounted volumes' files, and `acts` on them."""
        self.commands.append(command)
        if self.fails(command):
            raise RuntimeError(f"{service}: the container exited with 1: {command}")
        seen: Files = {}
        for mount in mounts:
            files, at = volumes[mount["name"]], mount["mountPath"]
            if "subPath" in mount:
                seen |= {at: files[mount["subPath"]]} if mount["subPath"] in files else {}
            else:
                seen |= {f"{at}/{name}": text for name, text in files.items()}
        before = dict(seen)
        self.acts(command, seen)
        for mount in mounts:
            files, at = volumes[mount["name"]], mount["mountPath"]
            if "subPath" in mount:
                if at in seen and seen[at] != before.get(at):
                    files[mount["subPath"]] = seen[at]
            else:
                files |= {path.removeprefix(at + "/"): text for path, text in seen.items()
                          if path.startswith(at + "/")}

    def move(self, command: list[str], files: Files, at: str) -> None:
        """An artifact move as the AWS CLI makes it, between the volume `files` mounted at `at` and `s3`."""
        match command:
            case ["touch", path]:
                files.setdefault(path.removeprefix(at + "/"), "")
            case ["aws", "s3", "sync", source, target] if source.startswith("s3://"):
                prefix = source.rstrip("/") + "/"
                files |= {url.removeprefix(prefix): text for url, text in self.s3.items() if url.startswith(prefix)}
            case ["aws", "s3", "sync", _, target]:
                self.s3 |= {f"{target.rstrip('/')}/{name}": text for name, text in files.items()}
            case ["aws", "s3", "cp", source, target] if source.startswith("s3://"):
                if source not in self.s3:
                    raise RuntimeError(f"fatal error: An error occurred (404) when calling the HeadObject operation: "
                                       f"{source}")
                files[target.removeprefix(at + "/")] = self.s3[source]
            case ["aws", "s3", "cp", source, target]:
                self.s3[target] = files[source.removeprefix(at + "/")]
            case _:
                raise AssertionError(f"not an artifact move: {command}")


@attrs.define
class StandIns:
    """The services the state machine calls, answered from one database."""

    athena: AthenaOnDuckDB
    jobs: JobsOnDuckDB
    containers: Containers
    entered: list[str] = attrs.Factory(list)
    """The states the execution entered, in order."""


@contextmanager
def stand_ins(connection: duckdb.DuckDBPyConnection, containers: Containers, own: Mapping[str, OwnJob]
              ) -> Iterator[StandIns]:
    """moto's Step Functions interpreter with Athena and the jobs answered from `connection`, and `containers`
    running the ECS tasks and EKS jobs."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service as service, state_task_service_aws_sdk as aws_sdk, state_task_service_callback as callback,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
    from moto.stepfunctions.parser.asl.utils import json_path

    athena = AthenaOnDuckDB(connection)
    jobs = JobsOnDuckDB(connection, own)

    class StartQuery(callback.StateTaskServiceCallback):
        def __init__(self) -> None:
            super().__init__(supported_integration_patterns={ResourceCondition.Sync})

        def _get_supported_parameters(self) -> set[str]:
            return {"QueryString", "WorkGroup", "ResultConfiguration", "QueryExecutionContext"}

        def _eval_service_task(self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any],
                               state_credentials: Any) -> None:
            env.stack.append(athena.start(normalised_parameters["QueryString"]))

        def _eval_integration_pattern(self, *args: Any, **kwargs: Any) -> None:
            """The query has run to its end: what `.sync` answers is what it started with."""

    class Sdk(aws_sdk.StateTaskServiceAwsSdk):
        def _eval_service_task(self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any],
                               state_credentials: Any) -> None:
            if self._get_boto_service_name() == "athena":
                env.stack.append(athena.result(normalised_parameters["QueryExecutionId"]))
            else:
                super()._eval_service_task(env, resource_runtime_part, normalised_parameters, state_credentials)

    class Http(service.StateTaskService):
        def _get_supported_parameters(self) -> set[str]:
            return {"ApiEndpoint", "Method", "Authentication", "RequestBody", "QueryParameters", "Headers"}

        def _eval_service_task(self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any],
                               state_credentials: Any) -> None:
            body = jobs.call(normalised_parameters["ApiEndpoint"], normalised_parameters)
            env.stack.append({"StatusCode": 200, "StatusText": "OK", "Headers": {}, "ResponseBody": body})

    class JobRun(callback.StateTaskServiceCallback):
        """`glue:startJobRun.sync` and `emr-serverless:startJobRun.sync`: the job's run, to its end."""

        def __init__(self, service: str) -> None:
            super().__init__(supported_integration_patterns={ResourceCondition.Sync})
            self.service = service

        def _get_supported_parameters(self) -> set[str]:
            return {"JobName", "Arguments", "ApplicationId", "ExecutionRoleArn", "Name", "JobDriver"}

        def _eval_service_task(self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any],
                               state_credentials: Any) -> None:
            if self.service == "glue":
                given = {key.removeprefix("--"): value for key, value in normalised_parameters["Arguments"].items()}
            else:
                given = job.arguments(normalised_parameters["JobDriver"]["SparkSubmit"]["EntryPointArguments"])
            env.stack.append(jobs.finished(given, self.service))

        def _eval_integration_pattern(self, *args: Any, **kwargs: Any) -> None:
            """The run has ended: what `.sync` answers is what it started with."""

    class ContainerRun(callback.StateTaskServiceCallback):
        """`ecs:runTask.sync` and `eks:runJob.sync`: the container's run, to its end."""

        def __init__(self, service: str) -> None:
            super().__init__(supported_integration_patterns={ResourceCondition.Sync})
            self.service = service

        def _get_supported_parameters(self) -> set[str]:
            return {"LaunchType", "Cluster", "TaskDefinition", "NetworkConfiguration", "Overrides", "ClusterName",
                    "CertificateAuthority", "Endpoint", "Namespace", "LogOptions", "Job"}

        def _eval_service_task(self, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any],
                               state_credentials: Any) -> None:
            env.stack.append(containers.run(self.service, normalised_parameters))

        def _eval_integration_pattern(self, *args: Any, **kwargs: Any) -> None:
            """The run has ended: what `.sync` answers is what it started with."""

    original = state_task_factory.state_task_service_for

    def service_for(service_name: str) -> Any:
        return StartQuery() if service_name == "athena" else Sdk() if service_name == "aws-sdk" \
            else Http() if service_name == "http" else JobRun(service_name) if service_name in ("glue", "emr-serverless") \
            else ContainerRun(service_name) if service_name in ("ecs", "eks") else original(service_name)
    state_task_factory.state_task_service_for = service_for
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    clock, retrier_decl.time = retrier_decl.time, types.SimpleNamespace(sleep=lambda seconds: None)  # type: ignore
    waiting, WaitFunction._wait_interval = WaitFunction._wait_interval, lambda self, env, wait_seconds: None
    moto_extract = json_path.extract_json
    users = [m for name, m in sys.modules.items() if name.startswith("moto.stepfunctions.parser")
             and getattr(m, "extract_json", None) is moto_extract]
    for module in users:
        module.extract_json = lambda path, data: _extract_as_aws(path, data, moto_extract)  # type: ignore
    try:
        yield StandIns(athena, jobs, containers)
    finally:
        state_task_factory.state_task_service_for = original
        retrier_decl.time = clock  # type: ignore[assignment]
        WaitFunction._wait_interval = waiting  # type: ignore[method-assign]
        for module in users:
            module.extract_json = moto_extract  # type: ignore[attr-defined]


def _extract_as_aws(path: str, data: Any, moto_extract: Callable[[str, Any], Any]) -> Any:
    """A JSONPath's value as AWS finds it: one match of a path with no wildcard or slice is that value, however
    many array indices lead to it (moto answers `$.Rows[1].Data[0].VarCharValue` with a list); any other path
    as `moto_extract` finds it."""
    from jsonpath_ng import parse

    matches = parse(path).find(data)
    if len(matches) == 1 and not re.search(r"\[\s*(\*|-?\d*\s*:)", path):
        return matches[0].value
    return moto_extract(path, data)


def run_machine(definition: str, connection: duckdb.DuckDBPyConnection, execution_input: dict[str, Any],
                containers: Containers | None = None, own: Mapping[str, OwnJob] | None = None
                ) -> tuple[str, StandIns]:
    """Run the state machine `definition` (its `${...}` placeholders filled in: topics are made, job ids are
    1) once, its SQL on `connection`, its containers run by `containers`
    (by default, each succeeds), the jobs of the user's `own` kinds by those; its final status and the stand-ins, with what they ran."""
    import boto3
    from moto import mock_aws

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), stand_ins(
            connection, containers or Containers(), own or {}) as services:
        sns = boto3.client("sns", region_name="us-east-1")
        filled = re.sub(r"\$\{(\w+Topic)\}", lambda m: sns.create_topic(Name=m.group(1))["TopicArn"], definition)
        filled = re.sub(r"\$\{\w+DatabricksJobId\}", "1", filled)
        filled = re.sub(r"\$\{[\w.]+\}", "placeholder", filled)
        client = boto3.client("stepfunctions", region_name="us-east-1")
        arn = client.create_state_machine(name="pipeline", definition=filled,
                                          roleArn="arn:aws:iam::123456789012:role/pipeline")["stateMachineArn"]
        execution = client.start_execution(stateMachineArn=arn, input=json.dumps(execution_input))["executionArn"]
        for _ in range(2400):
            status = client.describe_execution(executionArn=execution)["status"]
            if status != "RUNNING":
                events = client.get_execution_history(executionArn=execution, maxResults=1000)["events"]
                services.entered = [e["stateEnteredEventDetails"]["name"] for e in events
                                    if "stateEnteredEventDetails" in e]
                return status, services
            time.sleep(0.05)
        events = client.get_execution_history(executionArn=execution)["events"]
    raise TimeoutError(f"the execution did not end: {events[-3:]}")


def made_first(database: duckdb.DuckDBPyConnection, reference: Path, targets: list[Dataset]) -> None:
    """The `targets` missing in `database`, made empty with the columns the reference gave them, as Athena's
    Iceberg targets must be made before the first run."""
    missing = [d for d in targets if not table_exists(database, d.schema, d.table)]
    database.execute(f"ATTACH '{reference}' AS reference (READ_ONLY)")
    for dataset in missing:
        database.execute(f'CREATE SCHEMA IF NOT EXISTS "{dataset.schema}"')
        database.execute(f'CREATE TABLE "{dataset.schema}"."{dataset.table}" AS SELECT * FROM '
                         f'reference."{dataset.schema}"."{dataset.table}" LIMIT 0')
    database.execute("DETACH reference")
