"""The command line: every command, exit codes, output formats, atomic writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, SHARED
from sparklec.compiler.driver import load, optimise
from sparklec.compiler.output import MANIFEST
from sparklec.ir.serialize import from_json, to_json

CONFIGS = SHARED / "sparkle-configs"


def test_version(cli) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_info:
        cli("--version")
    assert exit_info.value.code == 0


def test_check_accepts_the_shared_configs_and_examples(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", CONFIGS)
    assert result.code == 0 and "ok: 2 pipelines verified" in result.err
    assert cli("check", EXAMPLES / "sparkle").code == 0
    for config in sorted(CONFIGS.glob("*_*.json")):
        assert cli("check", config).code == 0


def test_emit_ir_prints_the_optimised_ir(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(CONFIGS, "--emit", "ir")
    assert result.code == 0
    project, _ = load([CONFIGS])
    assert from_json(result.out) == optimise(project)
    assert result.out == to_json(optimise(project))


def test_emit_ir_is_stable_across_hash_seeds() -> None:
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-m", "sparklec", str(EXAMPLES / "sparkle"), "--emit", "ir"],
                             capture_output=True, text=True, env=env, cwd=ROOT, check=True)
        outputs.add(run.stdout)
    assert len(outputs) == 1


@pytest.mark.parametrize("fmt", ["dot", "mermaid"])
def test_graph(cli, fmt: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("graph", CONFIGS, "--format", fmt)
    assert result.code == 0
    edge = "->" if fmt == "dot" else "-->"
    assert f"silver_customer_transformation__quality_checks {edge} silver_customer_transformation__write" in result.out
    if fmt == "dot":
        assert result.out.startswith('digraph "sparkle_configs" {') and result.out.rstrip().endswith("}")
    else:
        assert "cluster_bronze_customer_ingestion__ --> cluster_silver_customer_transformation__" in result.out


def test_graph_draws_loops_as_clusters(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("graph", EXAMPLES / "sparkle" / "operations" / "orders_backfill.yaml", "--format", "dot")
    assert "subgraph cluster_orders_backfill__backfill {" in result.out
    assert "orders_backfill__transform_slice -> orders_backfill__write_slice;" in result.out


def test_print_ir_after_a_pass(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(CONFIGS, "--emit", "ir", "--print-ir-after", "drop-redundant-after")
    assert "// IR after drop-redundant-after" in result.err


def test_usage_errors_exit_2(cli) -> None:  # type: ignore[no-untyped-def]
    for args in ([CONFIGS], [CONFIGS, "--backend", "nope"], [CONFIGS, "--emit", "ir", "-O", "novalue"]):
        with pytest.raises(SystemExit) as exit_info:
            code = cli(*args).code
            raise SystemExit(code)
        assert exit_info.value.code == 2


def test_unknown_backend_names_the_available_ones(cli, plugin) -> None:  # type: ignore[no-untyped-def]
    result = cli(CONFIGS, "--backend", "stepfunction")
    assert result.code == 2 and "unknown backend `stepfunction`" in result.err and "ir-json" in result.err
    assert "did you mean `stepfunctions`?" in result.err
    planned = cli(CONFIGS, "--backend", "airflow")
    assert planned.code == 2 and "there is no airflow backend yet" in planned.err and "ir-json" in planned.err


def test_compile_errors_exit_1_with_json_diagnostics(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.json"
    bad.write_text('{"pipeline_name": "p", "pipeline_type": "nope", "env": "dev"}')
    result = cli("check", bad, "--diagnostics-format", "json")
    assert result.code == 1
    [diagnostic] = json.loads(result.err)
    assert diagnostic["code"] == "E109" and diagnostic["line"] == 1 and diagnostic["column"] == 41
    assert cli("check", tmp_path / "missing.json").code == 1


def test_list_backends(cli, plugin) -> None:  # type: ignore[no-untyped-def]
    result = cli("--list-backends")
    assert result.code == 0 and "ir-json\tsparklec_plugin_example:backend" in result.out


def test_compile_writes_atomically(cli, plugin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "work" / "out"
    result = cli(CONFIGS, "--backend", "ir-json", "-o", out)
    assert result.code == 0
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "bronze_customer_ingestion.json",
                                                     "silver_customer_transformation.json"]
    before = {p.name: p.read_text() for p in out.iterdir()}
    failed = cli(CONFIGS, "--backend", "ir-json", "-o", out, "-O", "fail=1")
    assert failed.code == 1 and "E401" in failed.err
    assert {p.name: p.read_text() for p in out.iterdir()} == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"], "no temporary directories remain"


def test_no_traceback_on_unreadable_input(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    result = cli("check", binary)
    assert result.code == 1 and "Traceback" not in result.err and "E501" in result.err
