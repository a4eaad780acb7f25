"""The Step Functions oracles: asl-validator (npm), cfn-lint, python-hcl2, bash -n and shellcheck."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conftest import ROOT

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
