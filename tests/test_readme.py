"""Every code block of the README, run as written from a clean folder that holds only a copy of `examples/`.

Shell blocks run in bash with this environment's `sparklec` and `dbt` first on PATH, and stand-ins for `aws`
and `kubectl` that log what they are asked to do (nothing reaches a cloud).  Their `make` lines are checked
with `make -n` (`make test` is what runs this file), except `make demo`, which runs; `pip install` lines are
not run (this environment is the install).  Error messages are reproduced from the inputs they quote, the
Python block runs, and pipeline texts are checked (and, for `.spk`, are `fmt --check` clean).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES

ROOT = EXAMPLES.parent
BIN = Path(sys.executable).parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = [(m["lang"], m["body"]) for m in re.finditer(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```$", README, re.M | re.S)]
STUB = '#!/bin/sh\necho "$(basename "$0") $*" >> "$STUB_LOG"\n'
INPUTS = {  # the files the README's error messages quote
    "silver.json": '{\n  "pipeline_name": "silver",\n  "pipeline_type": "silver_batch_transformation",\n'
                   '  "transformers": [\n    {"name": "add_hash_key", "params": {"source_colums": ["id"]}}\n  ],\n'
                   '  "env": "prod", "source_table": "main.bronze.customers_raw",\n'
                   '  "destination_schema": "silver", "destination_table": "customers"\n}\n',
    "pipeline.spk": "pipeline p {\n  tsk a = wait 1s\n}\n",
}


def _kind(lang: str, body: str) -> str:
    if lang in ("sh", "python", "yaml", "json"):
        return lang
    return "error" if body.startswith("error[") else "spk"


def _ids() -> list[str]:
    return [f"{index}-{_kind(lang, body)}" for index, (lang, body) in enumerate(BLOCKS)]


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    stubs = tmp_path / ".stubs"
    stubs.mkdir()
    for tool in ("aws", "kubectl"):
        (stubs / tool).write_text(STUB)
        (stubs / tool).chmod(0o755)
    return tmp_path


def _environment(folder: Path) -> dict[str, str]:
    """A user's shell: none of the variables other tests set for dbt or sparklec."""
    user = {k: v for k, v in os.environ.items() if not k.startswith(("SPARKLEC_", "DBT_"))}
    return {**user, "PATH": f"{folder / '.stubs'}:{BIN}:{os.environ['PATH']}", "STUB_LOG": str(folder / "stubs.log"),
            "DATABRICKS_TOKEN": "dapi-not-a-token", "COLUMNS": "120"}


def _sparklec(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "sparklec"), *arguments], cwd=folder, capture_output=True, text=True,
                          env=_environment(folder))


def test_every_block_is_one_this_file_runs() -> None:
    assert len(BLOCKS) >= 12 and {_kind(lang, body) for lang, body in BLOCKS} == {
        "sh", "python", "yaml", "json", "error", "spk"}


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=_ids())
def test_the_block_runs_as_written(index: int, clean: Path) -> None:
    lang, body = BLOCKS[index]
    kind = _kind(lang, body)
    if kind == "sh":
        _shell(body, clean)
    elif kind == "python":
        done = subprocess.run([sys.executable, "-c", body], cwd=clean, capture_output=True, text=True,
                              env=_environment(clean))
        assert done.returncode == 0, done.stderr
        if "deploy(" in body:
            assert (clean / "deployments" / "dbt" / "customer_silver_daily" / "dbt_project.yml").is_file()
        else:
            assert json.loads(done.stdout)[0]["name"] == "ingest_data", done.stdout
    elif kind == "error":
        file = re.search(r"--> ([\w.]+):", body)
        assert file is not None, body
        (clean / file[1]).write_text(INPUTS[file[1]])
        done = _sparklec(clean, "check", file[1])
        assert done.returncode == 1 and done.stderr.strip() == body.strip()
    elif kind == "json":
        (clean / "silver.json").write_text(INPUTS["silver.json"])
        done = _sparklec(clean, "check", "silver.json", "--diagnostics-format", "json")
        assert json.loads(done.stderr) == json.loads(body)
    else:
        path = clean / ("config.yaml" if kind == "yaml" else "tour.spk")
        path.write_text(body)
        done = _sparklec(clean, "check", path.name)
        assert done.returncode == 0, done.stderr
        if kind == "spk":
            formatted = _sparklec(clean, "fmt", "--check", path.name)
            assert formatted.returncode == 0, formatted.stderr


def _shell(body: str, folder: Path) -> None:
    lines = [line for line in body.replace("\\\n", " ").splitlines() if line.strip()]
    targets = [line.split("#")[0].split()[1:] for line in lines if line.startswith("make ")]
    script = [line for line in lines if not line.startswith(("make ", "pip install "))]
    for target in (t for group in targets for t in group):
        _make(target, folder)
    if script:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(script)], cwd=folder, capture_output=True,
                              text=True, env=_environment(folder))
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    if "deploy.sh" in body:
        assert (folder / "stubs.log").read_text().strip(), "deploy.sh called the cloud's tool"


def _make(target: str, folder: Path) -> None:
    if target != "demo":
        done = subprocess.run(["make", "-n", "-C", str(ROOT), target], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, folder / name)
    (folder / "installed").touch()
    done = subprocess.run(["make", "demo", f"VENV={BIN.parent}", f"RUNTIME={folder / 'installed'}"], cwd=folder,
                          capture_output=True, text=True, env=_environment(folder))
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert (folder / "out" / "run" / "silver" / "customers.parquet").is_file()
    printed = done.stdout + done.stderr
    assert not re.search(r"(warning|note)\[", printed), "the bundled examples compile without a remark"
