"""The Step Functions oracles: asl-validator (npm), cfn-lint, python-hcl2, bash -n and shellcheck."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conftest import ROOT
from sparklec.backends.stepfunctions.machine import START_PART

ASL_VALIDATOR = Path(os.environ.get("SPARKLEC_ASL_VALIDATOR", ROOT / ".venv/node/node_modules/.bin/asl-validator"))
BIN = Path(sys.executable).parent
INTEGRATIONS = {
    "arn:aws:states:::athena:startQueryExecution.sync", "arn:aws:states:::aws-sdk:athena:getQueryResults",
    "arn:aws:states:::glue:startJobRun.sync", "arn:aws:states:::emr-serverless:startJobRun.sync",
    "arn:aws:states:::ecs:runTask.sync", "arn:aws:states:::batch:submitJob.sync", "arn:aws:states:::lambda:invoke",
    "arn:aws:states:::sns:publish", "arn:aws:states:::sns:publish.waitForTaskToken", "arn:aws:states:::http:invoke",
    "arn:aws:states:::eks:runJob.sync", "arn:aws:states:::eks:call", "arn:aws:states:::states:startExecution.sync:2",
}
"""Every service integration AWS documents that sparklec emits; anything else is invented."""


def asl_problems(paths: list[Path]) -> str:
    """asl-validator's complaints about the definitions (empty when all are valid), in one node call."""
    assert ASL_VALIDATOR.exists(), f"{ASL_VALIDATOR} is missing: run `make test` (it installs asl-validator)"
    args = [str(ASL_VALIDATOR)] + [a for path in paths for a in ("--json-path", str(path))]
    completed = subprocess.run(args, capture_output=True, text=True, check=False)
    invalid = [line for line in completed.stdout.splitlines() + completed.stderr.splitlines()
               if line.strip() and "is valid" not in line]
    return "\n".join(invalid) if completed.returncode or invalid else ""


def cfn_lint_problems(paths: list[Path]) -> str:
    completed = subprocess.run([str(BIN / "cfn-lint"), *map(str, paths)], capture_output=True, text=True, check=False)
    return completed.stdout + completed.stderr if completed.returncode else ""


def shell_problems(path: Path) -> str:
    for command in (["bash", "-n", str(path)], [str(BIN / "shellcheck"), str(path)]):
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode:
            return completed.stdout + completed.stderr
    return ""


def states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, nested ones (parallel branches, map processors) included."""
    for name, state in definition["States"].items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from states(branch)
        if "ItemProcessor" in state:
            yield from states(state["ItemProcessor"])


def resources(definition: dict[str, Any]) -> set[str]:
    return {state["Resource"] for _, state in states(definition) if "Resource" in state}


def load(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(path.read_text())
    return result


# --- running definitions in moto's Step Functions interpreter -------------------------------------

FUNCTION = "sparklec-test"
REPLY = {"status": "succeeded", "failures": 0, "run_id": 1, "QueryExecutionId": "query",
         "state": {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS"}}
"""What every task answers (each state's ResultSelector picks its fields)."""


def runnable(definition: dict[str, Any], parts: dict[str, str]) -> dict[str, Any]:
    """`definition` with every Task calling one mocked Lambda function (but those starting a part, which
    start the part's state machine: `parts` maps its logical id to its ARN), and no real waiting."""
    text = json.dumps(definition)
    for key, arn in parts.items():
        text = text.replace(f"${{StateMachine{key}.Arn}}", arn)
    copy: dict[str, Any] = json.loads(text)
    for name, state in states(copy):
        if state["Type"] == "Wait":
            state["Seconds"] = 0
        if state["Type"] != "Task" or state["Resource"] == START_PART:
            continue
        state["Resource"] = "arn:aws:states:::lambda:invoke"
        state["Parameters"] = {"FunctionName": FUNCTION, "Payload": {"state": name}}
        if "ResultSelector" in state:
            state["ResultSelector"] = {k: (f"$.Payload.{k[:-2]}" if k.endswith(".$") else v)
                                       for k, v in state["ResultSelector"].items()}
        for rule in state.get("Retry", []):
            rule.update({"IntervalSeconds": 1, "BackoffRate": 1.0})
            rule.pop("MaxDelaySeconds", None)
    return copy


class Run:
    """One execution: its status, output and history events."""

    def __init__(self, status: str, output: Any, events: list[dict[str, Any]], calls: list[str]):
        self.status, self.output, self.events, self.calls = status, output, events, calls

    def entered(self, name: str) -> list[int]:
        return [e["id"] for e in self.events if e["type"].endswith("StateEntered")
                and e["stateEnteredEventDetails"]["name"] == name]

    def exited(self, name: str) -> list[int]:
        return [e["id"] for e in self.events if e["type"].endswith("StateExited")
                and e["stateExitedEventDetails"]["name"] == name]


def execute(definition: dict[str, Any], execution_input: dict[str, Any] | None = None,
            failing: frozenset[str] = frozenset(), replies: dict[str, dict[str, Any]] | None = None,
            parts: dict[str, dict[str, Any]] | None = None) -> Run:
    """Run `definition` (made `runnable`) in moto, with the state machines of its `parts` (logical id →
    definition); tasks whose state is in `failing` raise, those in `replies` answer that instead of
    `REPLY`."""
    import time

    import boto3
    from moto import mock_aws
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    calls: list[str] = []

    def invoke(parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
        state = json.loads(parameters["Payload"])["state"]
        calls.append(state)
        if state in failing:
            return {"StatusCode": 200, "FunctionError": "Unhandled",
                    "Payload": {"errorType": "TaskFailed", "errorMessage": f"{state} failed"}}
        return {"StatusCode": 200, "Payload": (replies or {}).get(state, REPLY)}

    def boto_names(self: Any, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        if isinstance(self, StateTaskServiceSfn):
            for key in list(parameters):
                parameters[key[:1].lower() + key[1:]] = parameters.pop(key)
            parameters.setdefault("name", uuid.uuid4().hex)

    def aws_names(self: Any, response: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(self, StateTaskServiceSfn):
            for key in list(response):
                response[key[:1].upper() + key[1:]] = response.pop(key)

    # moto's port of the Step Functions interpreter leaves out how AWS names the parameters and output of
    # `states:startExecution` (StateMachineArn, Input → boto's stateMachineArn, input; output → Output)
    # and names every execution it starts `None` (AWS makes up a unique name)
    originals = (lambda_eval_utils._invoke_lambda_function, StateTaskService._normalise_parameters,
                 StateTaskService._normalise_response)
    lambda_eval_utils._invoke_lambda_function = invoke
    StateTaskService._normalise_parameters = boto_names  # type: ignore[method-assign]
    StateTaskService._normalise_response = aws_names  # type: ignore[method-assign]
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            client = boto3.client("stepfunctions", region_name="us-east-1")
            arns: dict[str, str] = {}
            for key, part in (parts or {}).items():  # a part starts only parts made before it
                arns[key] = client.create_state_machine(
                    name=f"pipeline-{key.lower()}", definition=json.dumps(runnable(part, arns)),
                    roleArn="arn:aws:iam::123456789012:role/pipeline")["stateMachineArn"]
            arn = client.create_state_machine(name="pipeline", definition=json.dumps(runnable(definition, arns)),
                                              roleArn="arn:aws:iam::123456789012:role/pipeline")["stateMachineArn"]
            execution = client.start_execution(stateMachineArn=arn,
                                               input=json.dumps(execution_input or {}))["executionArn"]
            for _ in range(1200):
                described = client.describe_execution(executionArn=execution)
                if described["status"] != "RUNNING":
                    break
                time.sleep(0.05)
            events = client.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    finally:
        (lambda_eval_utils._invoke_lambda_function, StateTaskService._normalise_parameters,
         StateTaskService._normalise_response) = originals  # type: ignore[method-assign]
    output = json.loads(described["output"]) if described.get("output") else None
    return Run(described["status"], output, events, calls)
