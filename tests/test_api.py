"""The Python API: the seed's snippets, lookups, idempotence, errors, and `compile` equal to the CLI."""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import sparklec
from conftest import EXAMPLES, SHARED
from sparklec import FrontendError, Pipeline, SparklecError, UsageError
from sparklec.compiler.driver import optimise
from sparklec.compiler.output import MANIFEST
from sparklec.frontends.dsl import print_project
from sparklec.ir.pipeline import Project
from sparklec.testing import projects

BACKENDS = ("dbt", "stepfunctions", "argo")

SEED_SNIPPETS = {
    "deployments/dbt/customer_silver_daily": ("customer_silver_daily.spk", "dbt", '''
pipeline = Pipeline.get("customer_silver_daily", env="prod")
pipeline.build()
pipeline.deploy(orchestrator="dbt")
'''),
    "deployments/step_functions/customer_etl": ("customer_etl.spk", "stepfunctions", '''
pipeline = Pipeline.get("customer_etl", env="prod")
pipeline.build()
pipeline.deploy(orchestrator="stepfunctions")
'''),
    "deployments/argo/customer-etl": ("customer_etl.spk", "argo", '''
pipeline = Pipeline.get("customer_etl", env="prod")
pipeline.build()
pipeline.deploy(orchestrator="argo")
'''),
}
"""Where the seed says each snippet's files appear → the example it reads, the backend, the snippet."""


def files(folder: Path) -> dict[str, bytes]:
    """The generated files in `folder` (not the manifest, which records how they were made)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding the `.spk` examples, as a user's project would."""
    for spk in (EXAMPLES / "dsl").glob("*.spk"):
        shutil.copy(spk, tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("folder", SEED_SNIPPETS)
def test_the_seed_snippets_write_what_the_cli_writes(examples: Path, cli, folder: str) -> None:  # type: ignore[no-untyped-def]
    source, backend, snippet = SEED_SNIPPETS[folder]
    exec("from sparklec import Pipeline\n" + snippet, {})
    assert cli(source, "--env", "prod", "--backend", backend, "-o", "by-cli").code == 0
    written = files(examples / folder)
    assert written and written == files(examples / "by-cli")


@pytest.mark.parametrize("orchestrator", ["databricks", "airflow", "dagster", "prefect", "mage"])
def test_orchestrators_without_a_backend_yet_are_named_with_the_available_ones(
        examples: Path, orchestrator: str) -> None:
    pipeline = Pipeline.get("customer_etl", env="prod")
    with pytest.raises(UsageError) as error:
        pipeline.deploy(orchestrator=orchestrator)
    assert [d.code for d in error.value.diagnostics] == ["E502"]
    assert f"no {orchestrator} backend yet" in str(error.value)
    assert "available backends: argo, dbt, stepfunctions" in str(error.value)
    assert not (examples / "deployments").exists()


def test_build_and_deploy_twice_change_nothing(examples: Path) -> None:
    pipeline = Pipeline.get("customer_project")
    built = pipeline.build()
    assert pipeline.build() is built and optimise(built) == built
    for backend in BACKENDS:
        first = pipeline.deploy(orchestrator=backend, output="out")
        before = files(examples / "out")
        assert pipeline.deploy(orchestrator=backend, output="out") == first
        assert files(examples / "out") == before
        assert Pipeline.get("customer_project").compile(backend) == {
            str(p.relative_to(examples / "out")): p.read_text(encoding="utf-8") for p in first}


def test_get_finds_a_config_per_environment_a_file_or_one_below(tmp_path: Path) -> None:
    config = SHARED / "sparkle-configs" / "silver_customer_transformation.json"
    (tmp_path / "silver_customers").mkdir()
    for env in sparklec.ENVS:
        shutil.copy(config, tmp_path / "silver_customers" / f"{env}.json")
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    shutil.copy(EXAMPLES / "dsl" / "ingestion.spk", tmp_path / "nested" / "deeper")
    shutil.copy(EXAMPLES / "dsl" / "backfill.spk", tmp_path)

    assert Pipeline.get("silver_customers", env="qa", config_dir=tmp_path).name == "silver_customer_transformation"
    sparkle = tmp_path / "project" / "config" / "orchestration" / "silver_daily"  # Sparkle's layout
    sparkle.mkdir(parents=True)
    shutil.copy(config, sparkle / "prod.json")
    assert Pipeline.get("silver_daily", env="prod", config_dir=tmp_path / "project").name == \
        "silver_customer_transformation"
    assert Pipeline.get("backfill", config_dir=tmp_path).build().pipelines[0].name == "january_orders_backfill"
    assert Pipeline.get("ingestion", config_dir=tmp_path).validate() == []
    with pytest.raises(SparklecError, match="choose one with --env"):
        Pipeline.get("silver_customers", config_dir=tmp_path).build()
    with pytest.raises(UsageError, match="use one of dev, qa, prod"):
        Pipeline.get("silver_customers", env="production", config_dir=tmp_path)


def test_get_says_where_it_looked_or_which_files_clash(tmp_path: Path) -> None:
    with pytest.raises(SparklecError) as missing:
        Pipeline.get("nowhere", env="prod", config_dir=tmp_path)
    assert "no pipeline `nowhere`" in str(missing.value) and "nowhere/prod.json" in str(missing.value)
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(EXAMPLES / "dsl" / "backfill.spk", tmp_path / folder)
    with pytest.raises(SparklecError, match="2 files could be pipeline `backfill`"):
        Pipeline.get("backfill", config_dir=tmp_path)


def test_errors_are_returned_by_validate_and_raised_with_their_place() -> None:
    pipeline = Pipeline.from_dsl("pipeline p {\n  task a = from nowhere | drop_exact_duplicates\n}\n")
    diagnostics = pipeline.validate()
    assert diagnostics and all(d.span is not None and d.span.file == "<dsl>" for d in diagnostics)
    with pytest.raises(SparklecError) as error:
        pipeline.deploy(orchestrator="dbt", output="never-written")
    assert error.value.diagnostics == tuple(d for d in diagnostics if d.is_error)
    assert f"--> <dsl>:{diagnostics[0].span.line}:{diagnostics[0].span.column}" in str(error.value)
    assert "2 |   task a = from nowhere | drop_exact_duplicates" in str(error.value)
    assert not Path("never-written").exists()


def test_backend_options_and_lowering_problems(examples: Path) -> None:
    pipeline = Pipeline.get("customer_etl", env="prod")
    unfused = pipeline.compile("dbt", fuse=False)
    assert len(unfused) > len(pipeline.compile("dbt"))
    assert [d.code for d in pipeline.validate("dbt", colour="blue")] == ["E401"]
    assert pipeline.validate("argo") == pipeline.warnings


def test_graph_draws_the_steps_for_notebooks(examples: Path) -> None:
    graph = Pipeline.get("customer_etl").graph()
    assert graph._repr_markdown_().startswith("```mermaid\nflowchart")
    assert "customer_etl__ingest_data --> customer_etl__stage_raw" in graph.mermaid()
    assert graph.dot().startswith("digraph")
    assert ("customer_etl.ingest_data", "customer_etl.stage_raw") in graph.networkx().edges


def test_compile_takes_a_path_a_pipeline_or_ir(examples: Path) -> None:
    by_path = sparklec.compile("customer_etl.spk", "argo", env="prod")
    assert sparklec.compile(Pipeline.get("customer_etl", env="prod"), "argo") == by_path
    assert sparklec.compile(Pipeline.get("customer_etl", env="prod").ir(), "argo") == by_path
    assert not (examples / "deployments").exists() and not (examples / "out").exists()
    text = (examples / "customer_etl.spk").read_text()
    with pytest.raises(UsageError, match="looks like .spk text"):
        sparklec.compile(text, "argo")
    assert sparklec.compile(Pipeline.from_dsl(text, env="prod"), "argo") == by_path


def test_the_notebook_example_runs(examples: Path) -> None:
    runpy.run_path(str(EXAMPLES / "python_api.py"), run_name="__main__")


@settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(projects(max_pipelines=2, max_steps=6))
def test_compile_on_generated_ir_equals_what_the_cli_writes(tmp_path: Path, cli, project: Project) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "generated.spk"
    source.write_text(print_project(project), encoding="utf-8")
    for backend in BACKENDS:
        output = tmp_path / backend
        code = cli(source, "--backend", backend, "-o", output).code
        try:
            artifacts = sparklec.compile(project, backend)
        except SparklecError:
            assert code == 1
            continue
        assert code == 0
        assert {path: text.encode() for path, text in artifacts.items()} == files(output)


def test_from_file_fails_at_once_on_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(FrontendError) as error:
        Pipeline.from_file(tmp_path / "nosuch.spk")
    assert [d.code for d in error.value.diagnostics] == ["E501"]


def test_the_seed_spellings_of_orchestrators_are_accepted(examples: Path) -> None:
    pipeline = Pipeline.get("customer_etl", env="prod")
    assert pipeline.compile("step_functions") == pipeline.compile("stepfunctions")
    assert pipeline.compile("argo_workflows") == pipeline.compile("argo")
