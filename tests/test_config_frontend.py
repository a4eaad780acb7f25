"""The Sparkle config frontend: real configs, substitution, every pipeline type, projects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from conftest import EXAMPLE_CONFIGS, EXAMPLES, SHARED
from sparklec import ir
from sparklec.diagnostics import FrontendError, VerifyError
from sparklec.compiler.driver import load
from sparklec.frontends.config import load_config
from sparklec.frontends.config.expand import PIPELINE_TYPES
from sparklec.frontends.config.fields import FIELDS, TEMPLATE_CLASSES
from sparklec.frontends.documents import _parse_json, _parse_json_slowly
from sparklec.ir.pipeline import PIPELINE_TYPES as TYPE_NAMES
from sparklec.frontends.config.layers import date_slices
from sparklec.ir import transformers as tf
from sparklec.ir.graph import StepGraph
from sparklec.ir.tasks import walk


def load_file(path: Path, **kwargs: object) -> ir.Pipeline:
    pipeline, _ = load_config(path.read_text(), str(path), **kwargs)  # type: ignore[arg-type]
    return pipeline


def test_the_schema_fields_are_all_understood() -> None:
    schema = json.loads((SHARED / "sparkle-configs" / "schema.json").read_text())
    assert set(schema["properties"]) == set(FIELDS)
    assert tuple(schema["properties"]["pipeline_type"]["enum"]) == TYPE_NAMES
    assert set(PIPELINE_TYPES) == set(TYPE_NAMES), "every pipeline type expands"


def test_shared_bronze_config() -> None:
    pipeline = load_file(SHARED / "sparkle-configs" / "bronze_customer_ingestion.json", environ={})
    assert [s.name for s in pipeline.steps] == ["ingest", "add_provenance", "write", "apply_retention"]
    ingest, provenance, write, retention = pipeline.steps
    assert isinstance(ingest, ir.Ingest) and ingest.ingestor == "jdbc_postgres" and ingest.connection == "postgres_prod"
    assert [(s.key, s.value) for s in ingest.options] == [("fetchSize", 10000), ("numPartitions", 10)]
    assert isinstance(provenance, ir.Transform) and provenance.steps == (tf.AddIngestionMetadata(source="postgres_crm"),)
    assert isinstance(write, ir.Write) and (write.mode, write.partition_by) == ("append", ("ingestion_date",))
    assert pipeline.dataset("customers_raw").qualified_name == "main.bronze.customers_raw"  # type: ignore[union-attr]
    assert isinstance(retention, ir.RunSql) and "interval 90 days" in retention.statements[0]
    assert pipeline.schedules == (ir.Schedule(cron="0 */2 * * *"),)
    assert pipeline.alerts == ("slack://data-eng-alerts", "email://data-team@company.com")
    assert ("criticality", "high") in [(t.key, t.value) for t in pipeline.tags]


def test_a_pipeline_type_given_by_its_class_name_is_that_template() -> None:
    """Sparkle's docs name the templates by class (`BronzeRawIngestionPipeline`): each class name is one template,
    and a config that names it loads as the one that names the template."""
    text = (SHARED / "sparkle-configs" / "bronze_customer_ingestion.json").read_text()
    config = json.loads(text)
    assert config["pipeline_type"] == "bronze_raw_ingestion"
    assert sorted(TEMPLATE_CLASSES.values()) == sorted(TYPE_NAMES) and len(TEMPLATE_CLASSES) == 24
    named = json.dumps({**config, "pipeline_type": "BronzeRawIngestionPipeline"})
    assert load_config(named, "bronze.json", environ={})[0] == load_config(text, "bronze.json", environ={})[0]
    with pytest.raises(FrontendError, match="pipeline_type"):
        load_config(json.dumps({**config, "pipeline_type": "BronzeRawPipeline"}), "bronze.json", environ={})


def test_shared_silver_config() -> None:
    pipeline, warnings = load_config(
        (SHARED / "sparkle-configs" / "silver_customer_transformation.json").read_text(), "silver.json", environ={})
    transform, checks, write = pipeline.steps
    assert isinstance(transform, ir.Transform)
    assert [op.NAME for op in transform.steps] == [
        "drop_exact_duplicates", "standardize_nulls", "trim_and_clean_strings", "clean_email_addresses",
        "clean_phone_numbers", "add_audit_columns", "add_hash_key"]
    assert transform.steps[4] == tf.CleanPhoneNumbers(columns=("phone",), country_code="+1")
    assert transform.steps[6] == tf.AddHashKey(source_columns=("customer_id", "email"), target_column="customer_hash")
    assert isinstance(checks, ir.QualityCheck) and checks.checks == (
        ir.NotNull(column_names=("customer_id", "email")), ir.Unique(column_names=("customer_id",)),
        ir.EmailFormat(column="email"))
    assert isinstance(write, ir.Write) and write.after == ("quality_checks",) and write.mode == "overwrite"
    assert pipeline.depends_on == ("bronze_customer_ingestion",)
    assert [w.code for w in warnings] == ["W103"], "the audit columns overwrite the watermark"


def test_substitution_uses_the_environment() -> None:
    path = SHARED / "sparkle-configs" / "silver_customer_transformation.json"
    pipeline = load_file(path, environ={"CATALOG": "dev_catalog", "SCHEMA": "silver_dev"})
    target = pipeline.dataset("customers")
    assert target is not None and (target.catalog, target.schema) == ("dev_catalog", "silver_dev")


def test_embedded_and_escaped_references() -> None:
    text = json.dumps({
        "pipeline_name": "p", "pipeline_type": "zorder_analyze", "env": "dev",
        "destination_schema": "sales_${REGION:eu}", "destination_table": "t$${X}",
        "extra_config": {"zorder_columns": ["id"]}})
    with pytest.raises(FrontendError):  # `t${X}` is not a table name: the escape produced a literal
        load_config(text, "p.json", environ={})
    text = text.replace("t$${X}", "t")
    pipeline, _ = load_config(text, "p.json", environ={"REGION": "us"})
    assert pipeline.datasets[0].schema == "sales_us"


def test_env_override() -> None:
    pipeline = load_file(SHARED / "sparkle-configs" / "bronze_customer_ingestion.json", env="dev", environ={})
    assert pipeline.env == "dev"


def test_yaml_and_json_give_the_same_ir(tmp_path: Path) -> None:
    source = SHARED / "sparkle-configs" / "silver_customer_transformation.json"
    as_yaml = tmp_path / "silver.yaml"
    as_yaml.write_text(yaml.safe_dump(json.loads(source.read_text()), sort_keys=False))
    assert load_file(as_yaml, environ={}) == load_file(source, environ={})


@pytest.mark.parametrize("path", EXAMPLE_CONFIGS, ids=lambda p: p.stem)
def test_examples_load_without_warnings(path: Path) -> None:
    pipeline, warnings = load_config(path.read_text(), str(path), environ={})
    assert warnings == []
    assert pipeline.steps


def test_examples_cover_every_pipeline_type() -> None:
    kinds = {load_file(p, environ={}).pipeline_type for p in EXAMPLE_CONFIGS}
    assert kinds == set(TYPE_NAMES)


def _example(name: str) -> ir.Pipeline:
    return load_file(next(p for p in EXAMPLE_CONFIGS if p.stem == name), environ={})


def test_gold_filters_then_aggregates() -> None:
    transform = _example("gold_daily_revenue").steps[0]
    assert isinstance(transform, ir.Transform)
    assert [op.NAME for op in transform.steps] == ["filter_by_condition", "aggregate"]
    aggregate = transform.steps[1]
    assert isinstance(aggregate, tf.Aggregate)
    assert [m.name for m in aggregate.measures] == ["amount_sum", "amount_avg", "order_id_count"]


def test_backfill_fans_out_over_date_slices() -> None:
    [loop] = _example("orders_backfill").steps
    assert isinstance(loop, ir.ForEach) and loop.max_concurrency == 8
    assert loop.items is not None and len(loop.items) == 31 and loop.items[0] == "2024-01-01"
    assert [s.name for s in loop.body] == ["transform_slice", "write_slice"]
    assert date_slices(*map(__import__("datetime").date.fromisoformat, ("2024-01-31", "2024-04-01")), "month") == (
        "2024-01-31", "2024-02-01", "2024-03-01", "2024-04-01")


def test_catchup_iterates_over_a_parameter() -> None:
    pipeline = _example("orders_catchup")
    [loop] = pipeline.steps
    assert isinstance(loop, ir.ForEach) and loop.items_param == "missed_slices"
    assert pipeline.parameters == (ir.Parameter(name="missed_slices", type="list<string>", default=()),)


def test_champion_challenger_trains_in_parallel() -> None:
    pipeline = _example("churn_training")
    names = [s.name for s in pipeline.steps]
    assert names == ["training_data", "train_xgboost", "train_random_forest", "train_logistic", "select_champion"]
    select = pipeline.steps[-1]
    assert isinstance(select, ir.SelectModel) and select.candidates == tuple(names[1:4])
    assert StepGraph.of(pipeline).predecessors("select_champion") == sorted(names[1:4])


def test_scd2_merges_on_business_key_and_validity() -> None:
    pipeline = _example("dim_customer")
    write = next(s for s in pipeline.steps if isinstance(s, ir.Write))
    assert write.unique_key == ("customer_id", "valid_from") and write.mode == "merge"


def test_relationship_target_becomes_a_dataset() -> None:
    pipeline = _example("fact_orders")
    check = next(s for s in pipeline.steps if isinstance(s, ir.QualityCheck))
    relation = next(c for c in check.checks if isinstance(c, ir.Relationships))
    assert pipeline.dataset(relation.to).qualified_name == "main.silver.customers"  # type: ignore[union-attr]


def test_maintenance_statements_quote_identifiers() -> None:
    pipeline = _example("customers_governance")
    grants = next(s for s in pipeline.steps if s.name == "apply_grants")
    assert isinstance(grants, ir.RunSql)
    assert grants.statements[1].endswith("TO `data-engineers@company.com`")


def test_a_directory_is_one_project_linked_by_dependencies() -> None:
    project, warnings = load([SHARED / "sparkle-configs"], environ={})
    assert [p.name for p in project.pipelines] == ["bronze_customer_ingestion", "silver_customer_transformation"]
    assert [d.code for d in warnings] == ["N101", "W103"], "schema.json is skipped with a note"
    project, warnings = load([EXAMPLE_CONFIGS[0].parent.parent], environ={})
    assert len(project.pipelines) == 25 and project.name == "sparkle"
    assert [d.code for d in warnings] == []


def test_one_config_per_environment(tmp_path: Path) -> None:
    folder = tmp_path / "customer_silver_daily"
    folder.mkdir()
    base = json.loads((SHARED / "sparkle-configs" / "bronze_customer_ingestion.json").read_text())
    for env in ("dev", "prod"):
        (folder / f"{env}.json").write_text(json.dumps({**base, "env": env, "pipeline_name": "customer_silver_daily"}))
    project, _ = load([folder], env="prod", environ={})
    assert project.pipelines[0].env == "prod"
    with pytest.raises(FrontendError, match="choose one with --env|one config per environment"):
        load([folder], environ={})
    with pytest.raises(FrontendError):
        load([folder], env="qa", environ={})


def test_unused_fields_and_extra_keys_warn(tmp_path: Path) -> None:
    config = {"pipeline_name": "p", "pipeline_type": "zorder_analyze", "env": "dev", "destination_table": "t",
              "model_name": "m", "extra_config": {"zorder_columns": ["id"], "zorder_colums": ["x"], "metric": "auc"}}
    pipeline, warnings = load_config(json.dumps(config, indent=1), "p.json", environ={})
    assert sorted((w.code, w.message.split("`")[1]) for w in warnings) == [
        ("W101", "extra_config.zorder_colums"), ("W102", "extra_config.metric"), ("W102", "model_name")]
    assert next(w for w in warnings if w.code == "W101").help == "did you mean `zorder_columns`?"


def test_errors_in_several_files_are_all_reported(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.json").write_text('{"pipeline_name": "x", "env": "dev"}')
    with pytest.raises(FrontendError) as error:
        load([tmp_path], environ={})
    assert {d.span.file for d in error.value.diagnostics if d.span} == {str(tmp_path / "a.json"), str(tmp_path / "b.json")}


def test_custom_transformers_in_configs() -> None:
    config = {"pipeline_name": "p", "pipeline_type": "silver_batch_transformation", "env": "dev",
              "source_table": "s.x", "destination_table": "y",
              "transformers": [{"name": "shout", "params": {"target_column": "loud"}}],
              "extra_config": {"custom_transformers": {"shout": "upper(name)"}}}
    pipeline, _ = load_config(json.dumps(config), "p.json", environ={})
    transform = pipeline.steps[0]
    assert isinstance(transform, ir.Transform) and transform.steps == (tf.CustomOp(transformer="shout", target_column="loud"),)
    assert pipeline.custom_transformers[0].sql == "upper(name)"


def test_every_step_carries_a_span() -> None:
    for path in EXAMPLE_CONFIGS:
        pipeline = load_file(path, environ={})
        assert all(step.span is not None for step in walk(pipeline.steps)), path


def test_the_readme_documents_every_type_and_extra_key() -> None:
    from conftest import ROOT
    from sparklec.frontends.config.extra import EXTRA_CONFIG_KEYS

    readme = (ROOT / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in TYPE_NAMES)
    assert all(f"`{key}`" in readme for key in EXTRA_CONFIG_KEYS)
    table = readme.split("### Transformers")[1].split("\n\n")[1]
    assert all(f"`{name}`" in table for name in tf.CATALOGUE), "every transformer in the README's table"


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


@given(_JSON_VALUES, st.sampled_from([None, 0, 2]), st.booleans())
def test_json_is_read_with_the_positions_the_grammar_gives(value: object, indent: int | None, ascii: bool) -> None:
    """Valid JSON is read by a fast reader; it must give every value and span the JSON grammar gives."""
    text = json.dumps(value, indent=indent, ensure_ascii=ascii)
    assert _parse_json(text, "config.json") == _parse_json_slowly(text, "config.json")


@pytest.mark.parametrize("text", ['{"a": 1, "a": 2}', '{"a":\n [1,2, {"b" :"c"}]\n}\n', "{\f}", "[NaN]"])
def test_json_duplicates_and_what_python_reads_but_json_forbids(text: str) -> None:
    outcomes = []
    for reader in (_parse_json, _parse_json_slowly):
        try:
            outcomes.append(reader(text, "config.json"))
        except FrontendError as error:
            outcomes.append(error.diagnostics)
    assert outcomes[0] == outcomes[1]


def test_an_empty_list_of_columns_to_check_checks_nothing(tmp_path: Path) -> None:
    """`null_check_columns: []` (found by the fuzzer: it crashed every backend) adds no check."""
    from sparklec.backends import BUILTIN
    from sparklec.compiler.driver import load, lower, optimise

    config = tmp_path / "silver.yaml"
    config.write_text((EXAMPLES / "sparkle" / "silver" / "silver_customers.yaml").read_text().replace(
        "null_check_columns: [customer_id, email]", "null_check_columns: []"))
    assert "null_check_columns: []" in config.read_text()
    project = optimise(load([config], environ={})[0])
    assert sum(len(lower(project, backend, {})) > 0 for backend in BUILTIN) == 3


SPARKLE_AGGREGATE = {
    "pipeline_name": "regional_orders", "pipeline_type": "GoldDailyAggregatePipeline", "env": "prod",
    "source_table": "main.silver.orders", "destination_catalog": "main", "destination_schema": "gold",
    "destination_table": "regional_orders",
    "extra_config": {
        "source_columns": {"order_id": "bigint", "customer_id": "bigint", "region": "string", "amount": "double"},
        "aggregations": {"group_by": ["region"], "measures": [
            {"name": "customers", "expression": "count(distinct customer_id)"},
            {"name": "average_amount", "expression": "avg(amount)"},
            {"name": "big_orders", "expression": "count(distinct case when amount > 100 then order_id end)"}]},
    },
}


def test_sparkle_aggregations_group_and_measure_as_written(tmp_path: Path) -> None:
    """Sparkle's `aggregations: {group_by, measures}`: the rows are those the SQL of the measures gives by hand."""
    import duckdb

    project, _ = _run_config(tmp_path, SPARKLE_AGGREGATE, "orders",
                             "order_id,customer_id,region,amount\n1,10,north,50\n2,10,north,150\n3,11,north,200\n"
                             "4,12,south,20\n")
    [transform] = [s for s in project.pipelines[0].steps if isinstance(s, ir.Transform)]
    assert [op.NAME for op in transform.steps] == ["aggregate"]
    with duckdb.connect(str(tmp_path / "run.duckdb")) as connection:
        rows = connection.execute("SELECT * FROM gold.regional_orders ORDER BY region").fetchall()
    assert rows == [("north", 2, 400 / 3, 2), ("south", 1, 20.0, 0)]


def test_sparkle_aggregations_with_two_different_groupings_is_an_error(tmp_path: Path) -> None:
    config = dict(SPARKLE_AGGREGATE, extra_config={**SPARKLE_AGGREGATE["extra_config"], "group_by": ["customer_id"]})
    path = tmp_path / "regional_orders.json"
    path.write_text(json.dumps(config))
    with pytest.raises(FrontendError) as raised:
        load([path], environ={})
    assert [d.code for d in raised.value.diagnostics] == ["E112"], raised.value.diagnostics


def test_a_measure_naming_a_column_the_source_lacks_is_an_error(tmp_path: Path) -> None:
    measures = [{"name": "customers", "expression": "count(distinct case when amount > 0 then client_id end)"}]
    extra = {**SPARKLE_AGGREGATE["extra_config"], "aggregations": {"group_by": ["region"], "measures": measures}}
    path = tmp_path / "regional_orders.json"
    path.write_text(json.dumps(dict(SPARKLE_AGGREGATE, extra_config=extra)))
    with pytest.raises(VerifyError) as raised:
        load([path], environ={})
    [problem] = raised.value.diagnostics
    assert problem.code == "E204" and "`client_id`" in problem.message and "customer_id" in (problem.help or "")


def test_min_and_max_filters_keep_the_rows_within_their_bounds_and_other_keys_are_warned_of(tmp_path: Path) -> None:
    import duckdb

    extra = {**SPARKLE_AGGREGATE["extra_config"],
             "filters": {"min_amount": 50, "max_region": "north", "colour": "red"}}
    _, diagnostics = _run_config(tmp_path, dict(SPARKLE_AGGREGATE, extra_config=extra), "orders",
                                 "order_id,customer_id,region,amount\n1,10,north,49.5\n2,10,north,150\n"
                                 "3,11,north,50\n4,12,south,200\n")
    assert [(d.code, "colour" in d.message) for d in diagnostics] == [("W101", True)], diagnostics
    with duckdb.connect(str(tmp_path / "run.duckdb")) as connection:
        rows = connection.execute("SELECT * FROM gold.regional_orders ORDER BY region").fetchall()
    assert rows == [("north", 2, 100.0, 1)], "orders 2 and 3: amount at least 50, region at most north"


def test_zorder_columns_on_a_pipeline_that_writes_optimize_its_table_after_the_write(tmp_path: Path) -> None:
    from sparklec.compiler.driver import lower, optimise

    extra = {**SPARKLE_AGGREGATE["extra_config"], "zorder_columns": ["region"]}
    config = tmp_path / "regional_orders.json"
    config.write_text(json.dumps(dict(SPARKLE_AGGREGATE, extra_config=extra)))
    project, diagnostics = load([config], environ={})
    assert diagnostics == []
    [optimize] = [s for s in project.pipelines[0].steps if isinstance(s, ir.RunSql)]
    write = next(s for s in project.pipelines[0].steps if isinstance(s, ir.Write))
    assert optimize.after == (write.name,) and optimize.statements == (
        f"OPTIMIZE {{{{ {write.target} }}}} ZORDER BY (region)",)
    for backend in ("argo", "stepfunctions", "dbt"):
        assert lower(optimise(project), backend, {})


def test_a_feature_table_keeps_its_key_watermark_and_feature_columns_and_silver_warns_of_them(tmp_path: Path) -> None:
    import duckdb

    config = {"pipeline_name": "customer_features", "pipeline_type": "feature_store_daily_materialization",
              "env": "prod", "source_table": "main.silver.customers", "destination_catalog": "main",
              "destination_schema": "features", "destination_table": "customer_features",
              "primary_key": ["customer_id"], "feature_columns": ["orders", "spend"],
              "extra_config": {"source_columns": {"customer_id": "bigint", "email": "string", "orders": "bigint",
                                                  "spend": "double"}}}
    _run_config(tmp_path, config, "customers", "customer_id,email,orders,spend\n1,a@example.com,3,12.5\n")
    path = tmp_path / "config.json"
    with duckdb.connect(str(tmp_path / "run.duckdb")) as connection:
        assert connection.execute("SELECT * FROM features.customer_features").fetchall() == [(1, 3, 12.5)]
        assert [row[0] for row in connection.execute("DESCRIBE features.customer_features").fetchall()] == [
            "customer_id", "orders", "spend"]
    path.write_text(json.dumps(dict(config, pipeline_type="silver_batch_transformation")))
    _, diagnostics = load([path], environ={})
    assert [(d.code, "feature_columns" in d.message) for d in diagnostics] == [("W102", True)], diagnostics


SPARKLE_TRAINING = """pipeline_name: churn_training
pipeline_type: MLTrainingChampionChallengerPipeline
env: prod
source_table: main.features.customers
destination_catalog: main
destination_schema: ml
destination_table: churn_predictions
model_name: churn
feature_columns: [orders, spend]
target_column: churned
extra_config:
  source_columns: {customer_id: bigint, orders: bigint, spend: double, churned: boolean}
  models_to_train:
    - {name: xgb, type: xgboost, params: {max_depth: 6}}
    - {name: rf, type: random_forest}
  champion_criteria: {metric: rmse, threshold: 0.3, improvement_threshold: 0.01}
  training_config: {train_test_split: 0.8, stratify: true, random_state: 42}
  feature_importance: true
  mlflow_config: {experiment_name: /churn}
  unity_catalog_registration: {catalog: main, schema: ml}
  model_validation: {validation_checks: ["rmse <= 0.4"], fail_on_validation_error: false}
"""


def test_sparkle_training_fields_reach_the_tasks_and_round_trip_through_the_dsl(tmp_path: Path) -> None:
    from sparklec.frontends.dsl import parse
    from sparklec.frontends.dsl.printer import print_project

    path = tmp_path / "churn_training.yaml"
    path.write_text(SPARKLE_TRAINING)
    project, diagnostics = load([path], environ={})
    assert diagnostics == []
    steps = {s.name: s for s in project.pipelines[0].steps}
    xgb, select, predict = steps["train_xgb"], steps["select_champion"], steps["predict"]
    assert isinstance(xgb, ir.Train) and xgb.algorithm == "xgboost"
    assert {s.key: s.value for s in xgb.training} == {
        "train_test_split": 0.8, "stratify": True, "random_state": 42, "feature_importance": True}
    assert isinstance(select, ir.SelectModel) and (select.metric, select.higher_is_better) == ("rmse", False)
    assert (select.minimum, select.improvement, select.validation, select.fail_on_invalid) == (
        0.3, 0.01, ("rmse <= 0.4",), False)
    assert {s.key for s in select.registration} == {"mlflow.experiment_name", "unity_catalog.catalog",
                                                    "unity_catalog.schema"}
    assert isinstance(predict, ir.Score) and predict.after == ("select_champion",)
    assert [s.target for s in steps.values() if isinstance(s, ir.Write)] == ["churn_predictions"]
    assert parse(print_project(project)) == project


def test_a_model_validation_check_that_is_not_a_comparison_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "churn_training.yaml"
    path.write_text(SPARKLE_TRAINING.replace('"rmse <= 0.4"', '"rmse is small"'))
    with pytest.raises(VerifyError) as raised:
        load([path], environ={})
    assert [d.code for d in raised.value.diagnostics] == ["E209"], raised.value.diagnostics


def _run_config(tmp_path: Path, config: dict[str, object], table: str, rows: str) -> tuple[ir.Project, list[Any]]:
    """`config` loaded and run by `sparklec run` into `tmp_path / "run.duckdb"`, over `silver.<table>` holding
    the CSV `rows`: the project and the warnings; no task fails."""
    from sparklec.compiler.driver import optimise
    from sparklec.local import run_project

    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    (tmp_path / "data" / "silver").mkdir(parents=True)
    (tmp_path / "data" / "silver" / f"{table}.csv").write_text(rows)
    project, diagnostics = load([path], environ={})
    result = run_project(optimise(project), data=tmp_path / "data", database=tmp_path / "run.duckdb")
    assert all(task.status != "failed" for task in result.tasks), result.tasks
    return project, diagnostics


def test_the_reference_readme_complete_config_checks_compiles_everywhere_and_converts_back(tmp_path: Path) -> None:
    """The complete config of Sparkle's orchestration README ("Configuration Structure"), as written there:
    it verifies, every backend compiles it, and its .spk form parses back to the same IR."""
    from sparklec.backends import BUILTIN
    from sparklec.compiler.driver import lower, optimise
    from sparklec.frontends.dsl import parse, print_project

    readme = (SHARED / "reference" / "sparkle" / "orchestration" / "README.md").read_text()
    section = readme.split("## Configuration Structure", 1)[1]
    config = tmp_path / "customer_silver_daily.json"
    config.write_text(section.split("```json", 1)[1].split("```", 1)[0])
    project, _ = load([config], environ={"CATALOG": "main", "SCHEMA": "silver"})
    [pipeline] = project.pipelines
    assert [s.name for s in pipeline.steps] == ["transform", "write"]
    assert parse(print_project(project)) == project
    compiled = {name: lower(optimise(project), name, {}) for name in BUILTIN}
    assert len(compiled) >= 3 and all(compiled.values()), compiled.keys()
