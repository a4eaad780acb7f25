"""The shared bundle helpers: deploy scripts check their arguments, READMEs keep user text in its cell, names
stay unique."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sparklec.backends.bundle import Argument, Names, Readme, code, shell_script
from stepfunctions_harness import shell_problems

ARGUMENTS = [Argument("env", "ENV", "environment", choices=("dev", "qa", "prod")),
             Argument("region", "REGION", "an AWS region", pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"),
             Argument("mode", "--dry-run", "option", choices=("--dry-run",), default="")]


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "deploy.sh"
    path.write_text(shell_script("Says what it got.", ARGUMENTS, 'echo "$env $region ${mode:-wet} $here"'))
    path.chmod(0o755)
    return path


def run(script: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(script), *arguments], capture_output=True, text=True, check=False, timeout=30)


def test_a_deploy_script_passes_shellcheck_and_runs_with_good_arguments(script: Path) -> None:
    assert shell_problems(script) == ""
    assert run(script, "qa", "eu-west-1").stdout.split()[:3] == ["qa", "eu-west-1", "wet"]
    assert run(script, "prod", "us-east-2", "--dry-run").stdout.split()[:3] == ["prod", "us-east-2", "--dry-run"]
    assert run(script, "qa", "eu-west-1").stdout.split()[3] == str(script.parent)


@pytest.mark.parametrize("arguments", [(), ("qa",), ("test", "eu-west-1"), ("qa", "Europe"),
                                       ("qa", "eu-west-1", "--wet"), ("qa", "eu-west-1", "--dry-run", "more"),
                                       ("qa", "eu-west-1; touch pwned")])
def test_a_deploy_script_refuses_bad_arguments_with_its_usage(script: Path, arguments: tuple[str, ...]) -> None:
    completed = run(script, *arguments)
    assert completed.returncode == 2 and "usage: " in completed.stderr and completed.stdout == ""
    assert not (script.parent / "pwned").exists()


def test_user_text_stays_in_its_table_cell() -> None:
    text = Readme("t").table(["name", "what"], [(code("a|b`c"), code("x\ny"))]).text()
    row = text.splitlines()[-1]
    assert row == r"| `` a\|b`c `` | `x y` |"
    assert row.count("|") - row.count(r"\|") == 3, "three cell borders"


def test_names_are_unique_and_renamings_remembered() -> None:
    names = Names(lambda name: name.lower().replace("_", "-"), limit=10, reserved=("main",))
    assert names("Load_A") == "load-a" and names("load-a") != "load-a" and names("Load_A") == "load-a"
    assert names("main") != "main" and len(names("a" * 40)) == 10
    assert set(names.renamed()) == {"Load_A", "load-a", "main", "a" * 40}
    assert names.note("p", None, "short names", news=lambda name, label: True)[0].code == "N401"
