"""The dbt backend, proven by dbt itself: every project builds on DuckDB and its tests catch bad data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLES
from dbt_harness import DATA, dbt, generate, load_sources, results, schema_problems

DBT_EXAMPLES = sorted(p.stem for p in (EXAMPLES / "dsl").glob("*.spk"))


NOTHING_FOR_DBT = ("backfill", "ml_champion_challenger", "partition_fanout", "spark_operator")
"""Examples whose tasks all run in loops, containers or ML jobs."""


@pytest.mark.parametrize("example", DBT_EXAMPLES)
@pytest.mark.parametrize("fuse", ["true", "false"])
def test_example_builds_green(example: str, fuse: str, tmp_path: Path) -> None:
    project = tmp_path / "project"
    generate([EXAMPLES / "dsl" / f"{example}.spk"], project, fuse=fuse)
    assert schema_problems(project) == []
    load_sources(project, project / "local.duckdb")
    outcome = dbt(project, "build")
    statuses = results(outcome)
    assert outcome.success, statuses
    assert all(s in ("success", "pass", "no-op") for s in statuses.values()), statuses
    if example in NOTHING_FOR_DBT:  # a pipeline of containers, loops or ML: dbt has nothing to build, and says so
        assert not statuses and "not dbt's to run" in (project / "README.md").read_text()
    else:
        assert sum(s == "success" for s in statuses.values()) >= 1, statuses


def test_fused_has_fewer_models_and_the_same_tables(tmp_path: Path) -> None:
    import duckdb

    tables = {}
    for fuse in ("true", "false"):
        project = tmp_path / fuse
        artifacts = generate([EXAMPLES / "dsl" / "silver_transformation.spk"], project, fuse=fuse)
        tables[fuse] = sum(1 for path in artifacts if path.startswith("models/") and path.endswith(".sql"))
        load_sources(project, project / "local.duckdb")
        assert dbt(project, "build").success
        connection = duckdb.connect(str(project / "local.duckdb"))
        rows = connection.execute(
            "SELECT * EXCLUDE (_dbt_loaded_at, _dbt_invocation_id, created_at, updated_at) "
            "FROM silver.customers ORDER BY customer_id").fetchall()
        connection.close()
        tables[f"rows_{fuse}"] = rows
    assert tables["true"] == 2 < tables["false"], "the chain is one model (its write, gated by a check, another)"
    assert tables["rows_true"] == tables["rows_false"] and len(tables["rows_true"]) == 5


def test_broken_data_fails_the_right_tests(tmp_path: Path) -> None:
    project = tmp_path / "project"
    generate([EXAMPLES / "dsl" / "customer_silver_daily.spk"], project)
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    raw = data / "bronze" / "customers_raw.csv"
    lines = raw.read_text().splitlines()
    lines.append("2,Bob,Martin,not-an-email,N/A,FR,2023-02-11,2024-01-03 09:30:00,2024-01-03")
    raw.write_text("\n".join(lines) + "\n")
    load_sources(project, project / "local.duckdb", data)
    statuses = results(dbt(project, "build"))
    failed = {name for name, status in statuses.items() if status in ("fail", "error")}
    assert failed == {"customer_silver_daily__null_checks__not_null_email",
                      "customer_silver_daily__null_checks__unique_customer_id"}, statuses


def test_a_failing_check_leaves_the_table_it_gates_unchanged(tmp_path: Path) -> None:
    import duckdb

    project = tmp_path / "project"
    generate([EXAMPLES / "dsl" / "customer_silver_daily.spk"], project)
    load_sources(project, project / "local.duckdb")
    assert dbt(project, "build").success

    def table() -> list[tuple[object, ...]]:
        with duckdb.connect(str(project / "local.duckdb")) as connection:
            return connection.execute("SELECT * FROM silver.customers ORDER BY ALL").fetchall()

    before = table()
    with duckdb.connect(str(project / "local.duckdb")) as connection:
        connection.execute("INSERT INTO bronze.customers_raw (customer_id, first_name, last_name, email, country, "
                           "updated_at) VALUES (99, 'Eve', 'Null', NULL, 'FR', TIMESTAMP '2030-01-01 00:00:00')")
    statuses = results(dbt(project, "build"))
    assert statuses["customer_silver_daily__null_checks__not_null_email"] == "fail", statuses
    assert statuses["customers"] == "skipped", statuses
    assert len(before) > 0 and table() == before, "the failing check kept the new row out of silver.customers"


def test_incremental_models_process_only_new_rows(tmp_path: Path) -> None:
    import duckdb

    project = tmp_path / "project"
    generate([EXAMPLES / "dsl" / "customer_silver_daily.spk"], project)
    load_sources(project, project / "local.duckdb")
    assert dbt(project, "build").success
    connection = duckdb.connect(str(project / "local.duckdb"))
    first = connection.execute("SELECT _dbt_invocation_id, count(*) FROM silver.customers GROUP BY 1").fetchall()
    connection.execute("INSERT INTO bronze.customers_raw VALUES (6, 'Fay', 'Lin', 'fay@example.com', '555', 'US', "
                       "'2023-06-01', '2024-02-01 00:00:00', '2024-02-01')")
    connection.close()
    assert dbt(project, "build").success
    connection = duckdb.connect(str(project / "local.duckdb"))
    runs = connection.execute("SELECT _dbt_invocation_id, count(*) FROM silver.customers GROUP BY 1 ORDER BY 2 DESC"
                              ).fetchall()
    connection.close()
    assert len(first) == 1 and [count for _, count in runs] == [5, 1], "the second run loads only the new row"


def test_the_shared_configs_build_green_once_the_audit_columns_may_replace_the_sources(tmp_path: Path) -> None:
    """Bronze lands customers, silver cleans them; silver's columns are looked up when dbt runs.  As written,
    `add_audit_columns` meets the source's own `updated_at` as the model runs, and the model fails as the task
    fails in `sparklec run` (E206); with `overwrite: true`, as the error says, it replaces it."""
    import duckdb

    from conftest import SHARED

    project = tmp_path / "project"
    generate([SHARED / "sparkle-configs"], project)
    assert schema_problems(project) == []
    load_sources(project, project / "local.duckdb")
    outcome = dbt(project, "build")
    assert {node for node, status in results(outcome).items() if status == "error"} == {"transform"}
    assert "`add_audit_columns` adds column `updated_at`, which already exists [E206]" in str(
        next(r.message for r in outcome.result if r.node.name == "transform"))
    configs = tmp_path / "configs"
    shutil.copytree(SHARED / "sparkle-configs", configs)
    silver = configs / "silver_customer_transformation.json"
    config = json.loads(silver.read_text())
    for transformer in config["transformers"]:
        if transformer["name"] == "add_audit_columns":
            transformer["params"]["overwrite"] = True
    silver.write_text(json.dumps(config))
    shutil.rmtree(project)
    generate([configs], project)
    load_sources(project, project / "local.duckdb")
    outcome = dbt(project, "build")
    assert outcome.success, results(outcome)
    connection = duckdb.connect(str(project / "local.duckdb"))
    rows = dict(connection.execute("SELECT customer_id, address FROM silver.customers").fetchall())
    emails = {r[0] for r in connection.execute("SELECT email FROM silver.customers").fetchall()}
    phones = dict(connection.execute("SELECT customer_id, phone FROM silver.customers").fetchall())
    connection.close()
    assert rows[1] == "12 Main St" and rows[5] is None, "trimmed, and `NULL` text made NULL"
    assert "ann.lee@example.com" in emails and phones[1] == "+15551234567" and phones[2] is None


@pytest.mark.parametrize("example", sorted(p.stem for p in (EXAMPLES / "dsl").glob("*.spk")))
def test_golden_files(example: str, golden) -> None:  # type: ignore[no-untyped-def]
    from sparklec.compiler.driver import load, lower, optimise

    project, _ = load([EXAMPLES / "dsl" / f"{example}.spk"], environ={})
    golden("dbt", example, lower(optimise(project), "dbt", {}))


def test_the_config_examples_build_green_twice(tmp_path: Path) -> None:
    """All 24 pipeline types as one project; the second build loads incrementally without duplicates."""
    import duckdb

    project = tmp_path / "project"
    generate([EXAMPLES / "sparkle"], project)
    assert schema_problems(project) == []
    load_sources(project, project / "local.duckdb")
    for _ in range(2):
        outcome = dbt(project, "build")
        assert outcome.success, {k: v for k, v in results(outcome).items() if v not in ("success", "pass", "no-op")}
    connection = duckdb.connect(str(project / "local.duckdb"))
    assert connection.execute("SELECT count(*), count(DISTINCT customer_id) FROM bronze.customers_raw").fetchone() == (5, 5)
    connection.close()


def test_scd2_keeps_history_with_a_snapshot(tmp_path: Path) -> None:
    import duckdb

    project = tmp_path / "project"
    generate([EXAMPLES / "dsl" / "scd2_dimension.spk"], project)
    load_sources(project, project / "local.duckdb")
    assert dbt(project, "build").success
    connection = duckdb.connect(str(project / "local.duckdb"))
    connection.execute("UPDATE silver.customers SET email = 'ann@new.example.com' WHERE customer_id = 1")
    connection.close()
    assert dbt(project, "build").success
    connection = duckdb.connect(str(project / "local.duckdb"))
    versions = connection.execute(
        "SELECT email, is_current FROM gold.dim_customer WHERE customer_id = 1 ORDER BY valid_from").fetchall()
    kept = connection.execute("SELECT count(*) FROM gold.dim_customer_history").fetchone()
    others = connection.execute("SELECT count(*) FROM gold.dim_customer WHERE customer_id <> 1").fetchone()
    connection.close()
    assert versions == [("ann.lee@example.com", False), ("ann@new.example.com", True)]
    assert others == (3,), "unchanged customers keep one version"
    assert kept == (5,), "the snapshot keeps every version"


def test_spark_sql_you_write_also_runs_locally(tmp_path: Path) -> None:
    """Filter conditions and measures are Spark SQL; the local DuckDB target gets them transpiled."""
    import duckdb

    spk = tmp_path / "recent.spk"
    spk.write_text("""pipeline recent_orders {
  env prod
  source orders = silver.orders {
    columns {
      order_id: bigint,
      amount: double,
      status: string,
      order_date: date,
    }
  }

  target recent = gold.recent_orders

  task recent_by_status = from orders
      | filter_by_condition(condition: "order_date > date_sub(to_date('2024-01-05', 'yyyy-MM-dd'), 3)")
      | aggregate(group_by: [status], measures: [{ name: revenue, expression: "round(sum(amount), 1)" }])

  task publish = write recent_by_status into recent {
    mode overwrite
  }
}
""")
    project = tmp_path / "project"
    artifacts = generate([spk], project)
    assert "sparklec_per_target" in artifacts["models/recent_orders/recent_orders.sql"]
    load_sources(project, project / "local.duckdb")
    assert dbt(project, "build").success
    connection = duckdb.connect(str(project / "local.duckdb"))
    rows = sorted(connection.execute("SELECT status, revenue FROM gold.recent_orders").fetchall())
    connection.close()
    assert rows == [("cancelled", 100.0), ("delivered", 40.0), ("placed", 7.3)]


def test_two_checks_of_one_kind_on_one_column_get_distinct_test_names() -> None:
    import yaml

    from sparklec.frontends.dsl import parse
    from sparklec.compiler.driver import lower, optimise

    project = parse("""pipeline p {
  source raw = bronze.raw
  task check = check raw {
    accepted_values(status, ["a", "b"])
    accepted_values(status, ["a", "c"])
  }
}""")
    sources = yaml.safe_load(lower(optimise(project), "dbt", {})["models/sources.yml"])
    tests = sources["sources"][0]["tables"][0]["columns"][0]["data_tests"]
    names = [body["name"] for test in tests for body in test.values()]
    assert names == ["p__check__accepted_values_status", "p__check__accepted_values_status_2"]


def test_worked_examples_are_unit_tests_that_catch_a_wrong_expectation(tmp_path: Path) -> None:
    text = (EXAMPLES / "dsl" / "customer_silver_daily.spk").read_text()
    expected = '{ customer_id: 1, email: "ann.lee@example.com", phone: null }'
    assert expected in text
    wrong = tmp_path / "customer_silver_daily.spk"
    wrong.write_text(text.replace(expected, expected.replace("ann.lee", "ann")))
    test_name = "clean__duplicates_collapse_emails_are_cleaned_placeholders_become_null"
    for source, status in ((EXAMPLES / "dsl" / "customer_silver_daily.spk", "pass"), (wrong, "fail")):
        project = tmp_path / status
        artifacts = generate([source], project)
        assert "unit_tests:" in artifacts["models/customer_silver_daily/schema.yml"]
        load_sources(project, project / "local.duckdb")
        assert results(dbt(project, "test", "--select", "test_type:unit"))[test_name] == status


def test_examples_dbt_cannot_unit_test_are_reported(tmp_path: Path) -> None:
    from sparklec.compiler.driver import load, lower, optimise

    spk = tmp_path / "p.spk"
    spk.write_text("""pipeline p {
  source raw = bronze.raw
  task clean = from raw | standardize_nulls | drop_exact_duplicates {
    example "nulls" {
      given raw [
        { id: 1, email: "N/A" },
      ]
      expect [
        { id: 1, email: null },
      ]
    }
  }
}
""")
    project, _ = load([spk], environ={})
    for fuse, reason in (("true", "looks up the columns of `raw`"), ("false", "its chain is several models")):
        artifacts = lower(optimise(project), "dbt", {"fuse": fuse})
        assert "unit_tests" not in artifacts["models/p/schema.yml"]
        [note] = artifacts.notes
        assert note.code == "W402" and reason in note.message and (note.span.line, note.span.column) == (4, 13)


def test_a_transform_reading_one_dbt_does_not_build_is_left_to_the_orchestrator() -> None:
    from sparklec.compiler.driver import lower, optimise
    from sparklec.frontends.dsl import parse

    project = parse("""pipeline p {
  source raw = bronze.raw { columns { id: bigint } }
  task go = approval "Build?"
  task gated = from raw | drop_exact_duplicates after go
  task reader = from gated | drop_null_rows(columns: [id])
  task shared = from raw | drop_exact_duplicates
}
""")
    artifacts = lower(optimise(project), "dbt", {})
    assert sorted(p for p in artifacts if p.startswith("models/p/") and p.endswith(".sql")) == ["models/p/shared.sql"]
    assert "`p.reader` (transform)" in artifacts["README.md"]


def test_after_between_models_is_a_depends_on(tmp_path: Path) -> None:
    spk = tmp_path / "p.spk"
    spk.write_text('pipeline p {\n  source a = main.raw.a\n  source b = main.raw.b\n  target ta = main.silver.ta\n'
                   '  target tb = main.silver.tb\n  task save_a = write a into ta\n'
                   '  task shaped = from b | drop_exact_duplicates after save_a\n  task save_b = write shaped into tb\n}\n')
    artifacts = generate([spk], tmp_path / "project")
    assert "-- depends_on: {{ ref('ta') }}" in artifacts["models/p/tb.sql"]
    assert "depends_on" not in artifacts["models/p/ta.sql"]


def test_key_value_tags_keep_their_keys_as_dbt_reads_them(tmp_path: Path) -> None:
    """`pii: "true"` is the dbt tag `pii:true` and the meta `pii: "true"` in the manifest `dbt parse` writes."""
    spk = tmp_path / "p.spk"
    spk.write_text('pipeline p {\n  tags { pii: "true", domain: "customer" }\n  source a = main.raw.a\n'
                   '  target ta = main.silver.ta\n  task shaped = from a | drop_exact_duplicates\n'
                   '  task save = write shaped into ta\n}\n')
    generate([spk], tmp_path / "project")
    outcome = dbt(tmp_path / "project", "parse")
    assert outcome.success, outcome.exception
    models = [node for node in outcome.result.nodes.values() if node.resource_type == "model"]
    assert len(models) == 1
    assert {"pii:true", "domain:customer"} <= set(models[0].tags)
    assert models[0].config.meta["pii"] == "true" and models[0].config.meta["domain"] == "customer"


def test_a_column_an_op_sets_replaces_the_one_the_input_has(tmp_path: Path) -> None:
    """`add_audit_columns(overwrite: true)` over a source with `updated_at` and no declared columns: one
    `updated_at`, the new one (without `overwrite`, the model fails as it runs: see the shared configs)."""
    spk = tmp_path / "p.spk"
    spk.write_text('pipeline p {\n  env prod\n  source raw = bronze.customers_raw\n  target out = main.silver.audited\n'
                   '  task audited = from raw | add_audit_columns(overwrite: true) | add_audit_columns\n'
                   '  task save = write audited into out\n}\n')
    project_dir = tmp_path / "project"
    generate([spk], project_dir)
    load_sources(project_dir, project_dir / "local.duckdb")
    outcome = dbt(project_dir, "build")
    assert outcome.success, outcome.exception
    import duckdb

    connection = duckdb.connect(str(project_dir / "local.duckdb"))
    columns = [row[0] for row in connection.execute("DESCRIBE silver.audited").fetchall()]
    raw = [row[0] for row in connection.execute("DESCRIBE bronze.customers_raw").fetchall()]
    newest = connection.execute("SELECT min(updated_at) > TIMESTAMP '2025-01-01' FROM silver.audited").fetchone()
    connection.close()
    assert "updated_at" in raw and columns.count("updated_at") == 1 and "updated_at_1" not in columns, columns
    assert newest == (True,), "the audit time replaced the source's updated_at"


def test_a_failing_check_skips_no_reader_of_its_table_in_another_pipeline(tmp_path: Path) -> None:
    """`audit` checks `raw.orders` before keeping it; `copy` reads the same table without waiting for that
    check, so when it fails, `copy` still writes, as in `sparklec run`."""
    statuses, copied = _built_over_an_order_without_amount(tmp_path, TWO_READERS)
    assert statuses["checked_orders"] == "skipped" and statuses["orders"] == "success", statuses
    assert copied == 2


TWO_READERS = '''pipeline audit {
  source orders = raw.orders {
    columns { id: bigint, amount: double }
  }
  target checked = audit.checked_orders
  task amounts = check orders {
    not_null(amount)
  }
  task keep = write orders into checked after amounts
}

pipeline copy {
  source orders = raw.orders {
    columns { id: bigint, amount: double }
  }
  target copied = gold.orders
  task load = write orders into copied
}
'''


def test_a_failing_check_skips_no_step_that_only_waits_for_the_write_it_checks(tmp_path: Path) -> None:
    """`copy` runs after `keep` writes `kept` but does not wait for the check on `kept`: when the check fails,
    `copy` still writes, as in `sparklec run`."""
    statuses, copied = _built_over_an_order_without_amount(tmp_path, '''pipeline waits {
  source orders = raw.orders {
    columns { id: bigint, amount: double }
  }
  target kept = audit.kept_orders
  target copied = gold.orders
  task keep = write orders into kept
  task amounts = check kept {
    not_null(amount)
  }
  task copy = write orders into copied after keep
}
''')
    assert statuses["orders"] == "success", statuses
    assert copied == 2


def _built_over_an_order_without_amount(tmp_path: Path, text: str) -> tuple[dict[str, str], int]:
    """`dbt build` of the pipelines `text` over `raw.orders` with an order whose amount is NULL, so that a
    `not_null(amount)` check fails: the statuses, and how many rows `gold.orders` got."""
    import duckdb

    spk = tmp_path / "pipelines.spk"
    spk.write_text(text)
    project = tmp_path / "project"
    generate([spk], project)
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    (data / "raw" / "orders.csv").write_text("id,amount\n1,2.5\n2,\n")
    load_sources(project, project / "local.duckdb", data)
    statuses = results(dbt(project, "build"))
    assert [s for name, s in statuses.items() if "not_null_amount" in name] == ["fail"], statuses
    with duckdb.connect(str(project / "local.duckdb")) as connection:
        row = connection.execute("SELECT count(*) FROM dev_gold.orders").fetchone()
    return statuses, row[0] if row else 0


def test_every_transformer_builds_in_dbt_the_rows_its_duckdb_sql_leaves(tmp_path: Path) -> None:
    """One model per catalogue transformer (sample parameters, sample rows): `dbt build` on DuckDB leaves the
    rows that the transformer's DuckDB SQL, what `sparklec run` runs, leaves (times of the run aside)."""
    from collections import Counter

    import duckdb

    from sparklec.compiler.driver import lower, optimise
    from sparklec.compiler.output import write_atomically
    from sparklec.ir import Dataset, Pipeline, Project, Transform, Write
    from sparklec.ir.transformers import CATALOGUE, build_op
    from sparklec.local.files import duckdb_type
    from sparklec.sql import DIALECTS, Relation, chain_steps, with_ctes
    from test_spark import fresh_columns
    from sparklec.sql.ops import RELATION
    from test_transformers import PARAMS, RELATIONS, SCHEMA

    names = sorted(set(CATALOGUE) - {"scd_type2"})  # a history write of its own: test_scd2_keeps_history...
    ops = {name: build_op(name, PARAMS[name]) for name in names}
    pipeline = Pipeline(name="every", env="prod", datasets=(
        *(Dataset(name=name, schema="bronze", table=name, columns=columns) for name, (columns, _) in RELATIONS.items()),
        *(Dataset(name=f"{name}_out", schema="silver", table=name) for name in names)), steps=tuple(
        step for name in names for step in (Transform(name=name, input="raw", steps=(ops[name],)),
                                            Write(name=f"store_{name}", input=name, target=f"{name}_out",
                                                  mode="overwrite"))))
    write_atomically(lower(optimise(Project(name="every", pipelines=(pipeline,))), "dbt", {}), tmp_path)
    connection = duckdb.connect(str(tmp_path / "local.duckdb"))
    connection.execute("CREATE SCHEMA bronze")
    for name, (columns, rows) in RELATIONS.items():
        connection.execute(f"CREATE TABLE bronze.{name} (" + ", ".join(
            f"{c.name} {duckdb_type(c.type or 'string')}" for c in columns) + ")")
        connection.executemany(f"INSERT INTO bronze.{name} VALUES ({', '.join('?' for _ in columns)})", rows)
        connection.execute(f"CREATE TEMPORARY VIEW {RELATION.format(name)} AS SELECT * FROM bronze.{name}")
    connection.execute("CREATE TEMPORARY VIEW samples AS SELECT * FROM bronze.raw")
    expected = {}
    for name in names:
        query = with_ctes("samples", chain_steps(Relation("samples", SCHEMA), [ops[name]], DIALECTS["duckdb"]))
        result = connection.execute(query.sql(dialect="duckdb"))
        expected[name] = ([d[0] for d in result.description], [list(r) for r in result.fetchall()])
    connection.close()
    outcome = dbt(tmp_path, "build")
    assert outcome.success, {k: v for k, v in results(outcome).items() if v != "success"}
    connection = duckdb.connect(str(tmp_path / "local.duckdb"))
    compared = 0
    for name in names:
        result = connection.execute(f"SELECT * EXCLUDE (_dbt_loaded_at, _dbt_invocation_id) FROM silver.{name}")
        columns, rows = [d[0] for d in result.description], [list(r) for r in result.fetchall()]
        assert columns == expected[name][0], name
        keep = [i for i, c in enumerate(columns) if c not in fresh_columns(columns, rows)]
        assert Counter(repr([r[i] for i in keep]) for r in rows) == \
            Counter(repr([r[i] for i in keep]) for r in expected[name][1]), name
        compared += bool(rows)
    assert compared == len(names), compared
