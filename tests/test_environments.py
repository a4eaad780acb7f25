"""Environments are kept apart: outside prod, what a project writes goes to tables of that environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sparklec.compiler.driver import load, load_dsl, lower, optimise
from sparklec.diagnostics import FrontendError, VerifyError
from sparklec.frontends.dsl import print_project
from sparklec.ir.pipeline import Project
from sparklec.lowering.build import work_database

PROJECT = """
project shop

pipeline bronze {
  env ENV
  ISOLATE
  source raw_orders = erp.sales.orders
  target orders = lake.bronze.orders
  task load = write raw_orders into orders
  task compact = execute "OPTIMIZE {{ orders }}" after load { runtime databricks }
}

pipeline silver {
  env ENV
  ISOLATE
  depends_on bronze
  source orders = lake.bronze.orders
  source lookup = lake_dev.ref.countries
  target clean = lake.silver.orders
  task load = write orders into clean
}
"""


def compiled(env: str, isolation: str | None = None) -> Project:
    text = PROJECT.replace("ENV", env).replace("ISOLATE", f"isolate {isolation}" if isolation else "")
    project, _ = load_dsl(text, "shop.spk")
    return optimise(project)


def tables(project: Project) -> dict[tuple[str, str], str]:
    return {(p.name, d.name): d.qualified_name for p in project.pipelines for d in p.datasets}


def test_prod_keeps_every_name() -> None:
    assert tables(compiled("prod")) == {
        ("bronze", "raw_orders"): "erp.sales.orders", ("bronze", "orders"): "lake.bronze.orders",
        ("silver", "orders"): "lake.bronze.orders", ("silver", "lookup"): "lake_dev.ref.countries",
        ("silver", "clean"): "lake.silver.orders"}


def test_dev_moves_what_the_project_writes_to_dev_schemas_and_keeps_its_sources() -> None:
    found = tables(compiled("dev"))
    assert found == {
        ("bronze", "raw_orders"): "erp.sales.orders",  # only read: a source
        ("bronze", "orders"): "lake.dev_bronze.orders",
        ("silver", "orders"): "lake.dev_bronze.orders",  # silver reads what bronze writes in dev
        ("silver", "lookup"): "lake_dev.ref.countries",
        ("silver", "clean"): "lake.dev_silver.orders"}


def test_catalog_isolation_and_none() -> None:
    assert tables(compiled("qa", "catalog"))[("silver", "clean")] == "qa_lake.silver.orders"
    assert tables(compiled("qa", "none")) == tables(compiled("prod"))


def test_a_name_that_already_names_the_environment_is_kept() -> None:
    project, _ = load_dsl(PROJECT.replace("ENV", "dev").replace("ISOLATE", "")
                          .replace("lake.silver.orders", "lake_dev.silver.orders"), "shop.spk")
    assert tables(optimise(project))[("silver", "clean")] == "lake_dev.silver.orders"


def test_sql_tasks_name_the_environment_tables_and_unknown_names_are_errors() -> None:
    artifacts = lower(compiled("dev"), "stepfunctions", {})
    assert "OPTIMIZE lake.dev_bronze.orders" in artifacts["bronze/state_machine.json"]
    with pytest.raises(VerifyError) as error:
        load_dsl(PROJECT.replace("{{ orders }}", "{{ ordres }}").replace("ENV", "dev").replace("ISOLATE", ""),
                 "shop.spk")
    assert [(d.code, d.message) for d in error.value.diagnostics] == [("E202", "unknown dataset `ordres`")]


def test_the_work_schema_is_the_environments() -> None:
    project = compiled("dev")
    assert [work_database(p) for p in project.pipelines] == ["dev_bronze", "dev_silver"]
    assert [work_database(p) for p in compiled("prod").pipelines] == ["bronze", "silver"]
    assert [work_database(p) for p in compiled("dev", "none").pipelines] == ["bronze", "silver"]


def test_isolation_is_read_from_the_dsl_and_configs_and_printed_back(tmp_path: Path) -> None:
    project, _ = load_dsl(PROJECT.replace("ENV", "dev").replace("ISOLATE", "isolate catalog"), "shop.spk")
    assert "  isolate catalog\n" in print_project(project)
    with pytest.raises(FrontendError) as error:
        load_dsl(PROJECT.replace("ENV", "dev").replace("ISOLATE", "isolate tables"), "shop.spk")
    assert error.value.diagnostics[0].code == "E109"
    config = {"pipeline_name": "silver", "pipeline_type": "silver_batch_transformation", "env": "qa",
              "source_table": "lake.bronze.orders", "destination_catalog": "lake", "destination_schema": "silver",
              "destination_table": "orders", "extra_config": {"environment_isolation": "catalog"}}
    (tmp_path / "silver.json").write_text(json.dumps(config))
    loaded, _ = load([tmp_path / "silver.json"], environ={})
    assert {d.qualified_name for d in optimise(loaded).pipelines[0].datasets} == {
        "lake.bronze.orders", "qa_lake.silver.orders"}
