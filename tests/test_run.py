"""`sparklec run`: pipelines executed on DuckDB over local files, checked against dbt and by hand."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import COMPILED_SOURCES, EXAMPLES
from dbt_harness import DATA, dbt, deliver_changes, generate, load_sources, results
from tables import same_tables
from messy_data import VALUES, create_table
from sparklec.backends.dbt.models import PROFILE, nodes
from sparklec.compiler.driver import load, lower, optimise
from sparklec.compiler.output import write_atomically
from sparklec.ir import Column, Pipeline, Project
from sparklec.ir import tasks as t
from sparklec.local import Output, RunResult, run_project
from sparklec.lowering import build_plans
from sparklec.sql.tasks import landing_table
from sparklec.local.engine import table_exists
from sparklec.testing import pipelines



def run(source: Path, tmp_path: Path, data: Path = DATA, env: str | None = None, **options: Any) -> RunResult:
    project, _ = load([source], env=env, environ={})
    return run_project(optimise(project), data=data, **options)


def statuses(result: RunResult) -> dict[str, str]:
    return {f"{task.pipeline}.{task.name}": task.status for task in result.tasks}


@pytest.mark.parametrize("name", sorted(COMPILED_SOURCES))
def test_every_example_runs_with_each_task_accounted_for(name: str, tmp_path: Path) -> None:
    source = COMPILED_SOURCES[name]
    result = run(source, tmp_path, output=Output(tmp_path / "out"))
    failed = {r.name: r.detail for r in result.tasks if r.status == "failed"}
    if name == "shared":  # the bronze rows have `updated_at`, which the silver chain adds again (spec: an error)
        assert failed == {"transform": "`add_audit_columns` adds column `updated_at`, which already exists [E206]; "
                                       "choose another target column name, or set `overwrite: true`"}
    else:
        assert not failed
    project, _ = load([source], environ={})
    ran = Counter((r.pipeline, r.name.split("[")[0]) for r in result.tasks)
    for pipeline in project.pipelines:
        for task in t.walk(pipeline.steps):
            if isinstance(task, t.Task):
                assert ran[(pipeline.name, task.name)] >= 1, f"{task.name} is not reported"
    assert all(r.detail for r in result.tasks if r.status == "skipped"), "every skip says why"
    for path in result.written:
        assert duckdb.connect().execute(f"SELECT count(*) FROM '{path}'").fetchone() is not None


@pytest.mark.parametrize("name", sorted(COMPILED_SOURCES))
def test_run_makes_the_tables_dbt_builds(name: str, tmp_path: Path) -> None:
    """For the same pipeline and data, every column `sparklec run` writes holds what dbt's table holds.

    dbt may add columns of its own (load columns; a snapshot's bookkeeping), and columns holding the
    time of the run differ between any two runs."""
    source = COMPILED_SOURCES[name]
    project_dir = tmp_path / "dbt"
    generate([source], project_dir)
    compared = _build_both(source, project_dir, tmp_path, DATA)
    if name in ("customer_silver_daily", "silver_transformation", "gold_aggregate", "scd2_dimension", "sparkle"):
        assert compared, "these examples write tables dbt builds too"


@pytest.mark.parametrize("name", ["customer_silver_daily", "scd2_dimension", "sparkle"])
def test_a_second_run_over_new_and_changed_rows_leaves_the_tables_dbt_leaves(name: str, tmp_path: Path) -> None:
    """Incremental loads, merges and type-2 histories agree with dbt's after a second run in which rows
    arrive and change."""
    source = COMPILED_SOURCES[name]
    project_dir = tmp_path / "dbt"
    generate([source], project_dir)
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    first = _build_both(source, project_dir, tmp_path, data)
    deliver_changes(data)
    second = _build_both(source, project_dir, tmp_path, data)
    assert first == second != [], (first, second)


@pytest.mark.parametrize("name", ["customer_silver_daily", "sparkle"])
def test_a_dev_build_writes_the_dev_tables_only(name: str, tmp_path: Path) -> None:
    """Compiled and run for `dev`, dbt and `sparklec run` leave the same tables, each in a `dev_` schema, and
    neither writes the production tables."""
    source = COMPILED_SOURCES[name]
    project_dir = tmp_path / "dbt"
    generate([source], project_dir, env="dev")
    compared = _build_both(source, project_dir, tmp_path, DATA, env="dev")
    assert compared and all(table.startswith("dev_") for table in compared), compared
    project, _ = load([source], environ={})
    production = {f"{d.schema}.{d.table}" for p in project.pipelines for d in p.datasets} - {
        f"{d.schema}.{d.table}" for p in optimise(load([source], env="dev", environ={})[0]).pipelines
        for d in p.datasets}
    assert production, "the production names of the tables written"
    for database in (tmp_path / "run.duckdb", project_dir / "local.duckdb"):
        with duckdb.connect(str(database)) as connection:
            found = [table for table in production if table_exists(connection, *table.split("."))]
        assert not found, (database.name, found)


def _build_both(source: Path, project_dir: Path, tmp_path: Path, data: Path, env: str | None = None) -> list[str]:
    """`dbt build` and `sparklec run` over `data` (each into its own database, kept between calls), compiled
    for `env`; the tables both wrote, compared column by column.  The models dbt fails to build are the tasks
    `sparklec run` fails."""
    load_sources(project_dir, project_dir / "local.duckdb", data)
    outcome = dbt(project_dir, "build")
    result = run(source, tmp_path, data=data, env=env, database=tmp_path / "run.duckdb")
    assert ({node for node, status in results(outcome).items() if status in ("error", "fail")}
            == {task.name for task in result.tasks if task.status == "failed"}), (results(outcome), statuses(result))
    ours = duckdb.connect(str(tmp_path / "run.duckdb"))
    theirs = duckdb.connect(str(project_dir / "local.duckdb"))
    listed = "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
    loaded, _ = load([source], env=env, environ={})
    project = optimise(loaded)
    not_dbts = {(pipeline, task.name) for pipeline, task in nodes(build_plans(project, PROFILE)).skipped}
    writes: dict[str, set[str]] = {}  # pipeline → the tables it writes
    reads: dict[str, set[str]] = {}  # pipeline → the tables it reads
    tainted: set[str] = set()  # tables tasks dbt does not run write, and tables made from them
    for pipeline in project.pipelines:
        for task in t.walk(pipeline.steps):
            if not isinstance(task, t.Task):
                continue
            tables = {f"{d.schema}.{d.table}" for r in task.reads() if (d := pipeline.dataset(r)) is not None}
            reads.setdefault(pipeline.name, set()).update(tables)
            if isinstance(task, t.Write):
                dataset = pipeline.dataset(task.target)
                assert dataset is not None
                writes.setdefault(pipeline.name, set()).add(f"{dataset.schema}.{dataset.table}")
                if (pipeline.name, task.name) in not_dbts:
                    tainted.add(f"{dataset.schema}.{dataset.table}")
    while spread := {table for name, tables in writes.items() if reads.get(name, set()) & tainted
                     for table in tables} - tainted:
        tainted |= spread
    targets = {table for tables in writes.values() for table in tables} - tainted
    mine = targets & {r[0] for r in ours.execute(listed).fetchall()}
    their = targets & {r[0] for r in theirs.execute(listed).fetchall()}
    assert mine == their, f"only sparklec run wrote {sorted(mine - their)}, only dbt {sorted(their - mine)}"
    compared = sorted(mine)
    for table in compared:
        same_tables(ours, theirs, table)
    ours.close()
    theirs.close()
    return compared


def test_failed_checks_stop_the_write_and_show_the_failing_rows(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    with (data / "bronze" / "customers_raw.csv").open("a") as stream:
        stream.write("2,Bob,Martin,not-an-email,N/A,FR,2023-02-11,2024-01-03 09:30:00,2024-01-03\n")
    result = run(EXAMPLES / "dsl" / "customer_silver_daily.spk", tmp_path, data=data)
    assert statuses(result) == {"customer_silver_daily.clean": "succeeded",
                                "customer_silver_daily.null_checks": "failed",
                                "customer_silver_daily.load": "skipped"}
    [check] = [r for r in result.tasks if r.name == "null_checks"]
    failing = {c.check: c for c in check.checks if c.failures}
    assert set(failing) == {"not_null(customer_id, email, registration_date)", "unique(customer_id)"}
    not_null = failing["not_null(customer_id, email, registration_date)"]
    assert [dict(zip(not_null.columns, row, strict=True))["customer_id"] for row in not_null.sample] == [2]
    assert [dict(zip(not_null.columns, row, strict=True))["email"] for row in not_null.sample] == [None]
    assert failing["unique(customer_id)"].sample == [(2, 2)]
    shown = cli("run", EXAMPLES / "dsl" / "customer_silver_daily.spk", "--data", data, "-o", tmp_path / "out")
    assert shown.code == 1
    assert "unique(customer_id) — 1 failing row" in shown.out and "rows_per_key" in shown.out
    assert not (tmp_path / "out").exists(), "nothing was written"


def test_a_second_run_processes_only_new_rows(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    database = tmp_path / "local.duckdb"
    spk = EXAMPLES / "dsl" / "customer_silver_daily.spk"

    def loaded() -> int | None:
        return next(r.rows_out for r in run(spk, tmp_path, data=data, database=database).tasks if r.name == "load")
    assert loaded() == 5
    assert loaded() == 0, "nothing newer than the watermark"
    with (data / "bronze" / "customers_raw.csv").open("a") as stream:
        stream.write("6,Fay,Wong,fay@example.org,,sg,2023-06-01,2024-02-01 08:00:00,2024-02-01\n")
    assert loaded() == 1
    connection = duckdb.connect(str(database))
    assert connection.execute("SELECT count(*), count(DISTINCT customer_id) FROM silver.customers").fetchone() == (6, 6)
    assert connection.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE "
                              "'sparklec_work_%'").fetchone() == (0,), "the work schema is dropped"
    connection.close()


def test_declared_decimals_stay_decimals_from_the_landing_file_to_gold(tmp_path: Path) -> None:
    run(EXAMPLES / "sparkle", tmp_path, output=Output(tmp_path / "out"))
    types = {}
    for table in ("bronze/orders_raw", "silver/orders", "gold/fact_orders"):
        types[table] = duckdb.sql(f"SELECT column_type FROM (DESCRIBE SELECT * FROM '{tmp_path}/out/{table}.parquet') "
                                  "WHERE column_name = 'amount'").fetchall()
    assert types == dict.fromkeys(types, [("DECIMAL(18,2)",)]), types


def test_parameters_decide_branches_and_loops(tmp_path: Path) -> None:
    spk = EXAMPLES / "dsl" / "customer_etl.spk"
    default = statuses(run(spk, tmp_path))
    assert default["customer_etl.production_path"] == "skipped"
    assert sum(name.startswith("customer_etl.process_partition[") for name in default) == 10
    chosen = run(spk, tmp_path, params={"environment": "prod", "partitions": "3,4"})
    reasons = {r.name: r.detail for r in chosen.tasks}
    assert reasons["development_path"] == "`check_environment` took the other arm"
    assert sorted(n for n in reasons if n.startswith("process_partition")) == ["process_partition[3]",
                                                                              "process_partition[4]"]


def test_loops_substitute_their_variable_into_sql(tmp_path: Path) -> None:
    database = tmp_path / "run.duckdb"
    result = run(EXAMPLES / "dsl" / "backfill.spk", tmp_path, database=database)
    slices = {r.name: r.rows_out for r in result.tasks if r.name.startswith("transform_slice")}
    assert slices["transform_slice[2024-01-02]"] == 2 and slices["transform_slice[2024-01-01]"] == 0
    connection = duckdb.connect(str(database))
    rows = connection.execute("SELECT order_id, status FROM silver.orders ORDER BY order_id").fetchall()
    connection.close()
    assert rows[0] == (100, "delivered"), "the latest event of order 100"
    assert len(rows) == 6, "each day's slice overwrote its own partition only"
    again = run(EXAMPLES / "dsl" / "backfill.spk", tmp_path, database=database)
    written = {r.name: r.rows_out for r in again.tasks if r.name.startswith("write_slice")}
    assert written["write_slice[2024-01-02]"] == 2, "a slice that replaced its partition wrote its rows"
    assert written["write_slice[2024-01-01]"] == 0


def test_bad_parameters_and_bindings_are_reported(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    spk = EXAMPLES / "dsl" / "customer_etl.spk"
    for arguments, code in ((("--param", "partitions=a,b"), "E602"), (("--param", "enviroment=prod"), "E602"),
                            (("--bind", f"nothing={spk}"), "E604"), (("--param", "novalue"), "E505")):
        shown = cli("run", spk, "--data", DATA, *arguments, "--diagnostics-format", "json")
        assert shown.code == 2, shown.err
        assert [d["code"] for d in json.loads(shown.err)] == [code]


def test_sources_without_rows_are_warned_about_and_their_readers_skipped(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    shown = cli("run", EXAMPLES / "dsl" / "gold_aggregate.spk", "--data", tmp_path, "-o", tmp_path / "out")
    assert shown.code == 0
    assert "W601" in shown.err and "no rows for source `orders`" in shown.err
    assert "needs `orders`" in shown.out


def test_dry_run_prints_the_plan_and_touches_nothing(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    shown = cli("run", EXAMPLES / "dsl" / "customer_etl.spk", "--data", DATA, "--db", tmp_path / "x.duckdb",
                "--dry-run")
    assert shown.code == 0
    assert "ingest_data: read" in shown.out and "for each partition in the items of `partitions`" in shown.out
    assert "skip — runs the container" in shown.out
    assert not (tmp_path / "x.duckdb").exists()


def test_dry_run_lists_tasks_in_the_order_they_run_and_says_which_sql_is_skipped(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    reversed_order = tmp_path / "reversed.spk"
    reversed_order.write_text("""pipeline reversed_order {
  source orders = main.bronze.orders { columns { id: bigint, amount: double } }
  target clean = main.silver.orders_clean
  task save = write tidy into clean
  task tidy = from orders | filter_by_condition(condition: "amount > 0")
}
""")
    shown = cli("run", reversed_order, EXAMPLES / "sparkle" / "operations" / "customers_governance.yaml", "--dry-run")
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert [n for n, line in enumerate(lines) if "tidy:" in line] < [n for n, line in enumerate(lines) if "save:" in line]
    assert "apply_grants: skip — Databricks SQL DuckDB cannot run" in shown.out
    real = run(EXAMPLES / "sparkle" / "operations" / "customers_governance.yaml", tmp_path)
    assert {r.name: r.status for r in real.tasks}["apply_grants"] == "skipped", "the plan says what the run does"


def test_a_write_whose_columns_changed_follows_its_schema_change_policy(tmp_path: Path) -> None:
    spk = tmp_path / "p.spk"
    database = tmp_path / "run.duckdb"
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    (data / "raw" / "events.csv").write_text("id,kind\n1,a\n2,b\n")
    template = """pipeline p {{
  env prod
  source events = raw.events
  target kept = silver.events
  task shaped = from events | {op}
  task store = write shaped into kept {{
    mode append
    on_schema_change {policy}
  }}
}}
"""
    outcomes = {}
    for policy in ("fail", "append_new_columns", "ignore"):
        for op in ("drop_null_rows(columns: [id])", "add_hash_key(source_columns: [id], target_column: id_hash)"):
            spk.write_text(template.format(op=op, policy=policy))
            result = run(spk, tmp_path, data=data, database=database)
            [store] = [r for r in result.tasks if r.name == "store"]
            outcomes[(policy, op.split("(")[0])] = (store.status, store.detail.split(";")[0])
        connection = duckdb.connect(str(database))
        outcomes[(policy, "columns")] = tuple(c[0] for c in connection.execute("DESCRIBE silver.events").fetchall())
        connection.execute("DROP TABLE silver.events")
        connection.close()
    assert outcomes[("fail", "add_hash_key")][0] == "failed"
    assert "new: id_hash" in outcomes[("fail", "add_hash_key")][1]
    assert outcomes[("append_new_columns", "columns")] == ("id", "kind", "id_hash")
    assert outcomes[("ignore", "add_hash_key")][0] == "succeeded"
    assert outcomes[("ignore", "columns")] == ("id", "kind")


@settings(max_examples=max(3, settings().max_examples // 10), deadline=None)
@given(pipelines(max_steps=6), st.data())
def test_run_agrees_with_dbt_on_random_pipelines(pipeline: Pipeline, data: st.DataObject) -> None:
    """Random pipelines over messy rows: what `sparklec run` writes, dbt builds the same."""
    project = Project(name=pipeline.name, pipelines=(pipeline,))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        project_dir = root / "dbt"
        write_atomically(lower(optimise(project), "dbt", {}), project_dir)
        connection = duckdb.connect(str(project_dir / "local.duckdb"))
        datasets = {(d.schema, d.table): d for d in pipeline.datasets}
        landed = {landing_table(task): task.columns for task in t.walk(pipeline.steps) if isinstance(task, t.Ingest)}
        sources = yaml.safe_load((project_dir / "models" / "sources.yml").read_text() or "{}").get("sources", [])
        for schema, entry in ((s["schema"], tb) for s in sources for tb in s["tables"]):
            table = entry["name"]
            dataset = datasets.get((schema, table))
            # a landing holds the columns the ingestion declares, typed as the extract-and-load tool lands them
            declared = landed.get((schema, table)) or tuple(Column(name=c["name"], type="string")
                                                             for c in entry.get("columns", []))
            columns = dataset.columns if dataset and dataset.columns else declared or (Column(name="id", type="string"),)
            rows = data.draw(st.lists(st.tuples(*(st.sampled_from(VALUES[c.type or "string"]) for c in columns)),
                                      max_size=6))
            connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            create_table(connection, f'"{schema}"."{table}"', columns, rows)
        connection.close()
        shutil.copy(project_dir / "local.duckdb", root / "run.duckdb")
        built = dbt(project_dir, "build")
        assert all(s in ("success", "pass", "fail", "warn", "skipped", "no-op") for s in results(built).values())
        result = run_project(optimise(project), database=root / "run.duckdb")
        assert all(r.status != "failed" or r.kind == "quality_check" or "not available in duckdb" in r.detail
                   for r in result.tasks), result.tasks  # checks may find bad rows; DuckDB has no SHA-512
        ours, theirs = duckdb.connect(str(root / "run.duckdb")), duckdb.connect(str(project_dir / "local.duckdb"))
        not_dbts = {task.name for _, task in nodes(build_plans(optimise(project), PROFILE)).skipped}
        for write in (w for w in t.walk(pipeline.steps) if isinstance(w, t.Write) and w.name not in not_dbts):
            dataset = pipeline.dataset(write.target)
            assert dataset is not None
            table = f'"{dataset.schema}"."{dataset.table}"'
            written = [table_exists(c, dataset.schema, dataset.table) for c in (ours, theirs)]
            assert written[0] == written[1], (table, "written by sparklec run, by dbt:", written)
            if not any(written):
                continue  # a check the write waits for failed, on both sides
            same_tables(ours, theirs, table)
        ours.close()
        theirs.close()


@pytest.mark.parametrize("suffix", [".parquet", ".json", ".jsonl", ".csv"])
def test_sources_bind_to_files_of_every_format(suffix: str, tmp_path: Path) -> None:
    orders = tmp_path / f"orders{suffix}"
    options = {".parquet": "FORMAT parquet", ".json": "FORMAT json, ARRAY true", ".jsonl": "FORMAT json",
               ".csv": "FORMAT csv, HEADER true"}[suffix]
    duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{DATA / 'silver' / 'orders.csv'}', header = true)) "
                             f"TO '{orders}' ({options})")
    result = run(EXAMPLES / "dsl" / "gold_aggregate.spk", tmp_path, data=tmp_path / "empty",
                 bind={"orders": orders}, output=Output(tmp_path / "out"))
    assert statuses(result)["daily_revenue_rollup.publish"] == "succeeded"
    revenue = duckdb.connect().execute(f"SELECT order_date::VARCHAR, revenue::DOUBLE, orders FROM "
                                       f"'{tmp_path / 'out' / 'gold' / 'daily_revenue.parquet'}' ORDER BY 1").fetchall()
    assert revenue == [("2024-01-02", 37.5, 2), ("2024-01-03", 40.0, 1), ("2024-01-04", 7.25, 1)]


def test_a_type_2_history_closes_changed_versions_and_opens_new_ones_over_three_runs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    database = tmp_path / "run.duckdb"
    spk = EXAMPLES / "dsl" / "scd2_dimension.spk"
    customers = data / "silver" / "customers.csv"

    def history() -> list[tuple[Any, ...]]:
        result = run(spk, tmp_path, data=data, database=database)
        assert {r.status for r in result.tasks} == {"succeeded"}, statuses(result)
        connection = duckdb.connect(str(database))
        rows = connection.execute(
            "SELECT customer_id, email, country, is_current, valid_to IS NULL, valid_to = max(valid_from) OVER "
            "(PARTITION BY customer_id) FROM gold.dim_customer ORDER BY customer_id, valid_from").fetchall()
        connection.close()
        return rows

    first = history()
    assert [row[:4] for row in first] == [
        (1, "ann.lee@example.com", "US", True), (2, "bob@shop.fr", "FR", True),
        (3, "chloe.dupont@mail.de", "DE", True), (4, "dan@company.co.uk", "GB", True)]
    lines = customers.read_text().splitlines()
    lines[2] = lines[2].replace("bob@shop.fr", "bob@shop.com")  # a tracked column changes
    lines[3] = lines[3].replace("2024-01-04 08:00:00", "2024-02-04 08:00:00")  # an untracked one
    lines.append("5,eve@example.org,,ES,2023-05-01,2024-02-05 10:00:00")  # a new customer
    customers.write_text("\n".join(lines) + "\n")
    second = history()
    assert second == [
        (1, "ann.lee@example.com", "US", True, True, None),
        (2, "bob@shop.fr", "FR", False, False, True),  # closed when the new version opened
        (2, "bob@shop.com", "FR", True, True, None),
        (3, "chloe.dupont@mail.de", "DE", True, True, None), (4, "dan@company.co.uk", "GB", True, True, None),
        (5, "eve@example.org", "ES", True, True, None)]
    assert history() == second, "a run with no changes keeps every version as it is"


FEATURE_JOIN = """pipeline_name: customer_pit_features
pipeline_type: feature_store_daily_materialization
env: prod
source_tables: [feat.spine, feat.orders_agg, feat.profile]
destination_catalog: main
destination_schema: features
destination_table: customer_pit
primary_key: [customer_id]
watermark_column: as_of
feature_columns: [order_total, segment]
extra_config:
  feature_store_config: {point_in_time_joins: true, ttl: 30d, online_store: dynamodb}
  versioning: {enabled: true, retention_days: 30}
  feature_engineering: {lags: [1], rolling_windows: [2], rolling_stats: [max], aggregation_windows: [40d],
                        columns: [order_total]}
"""


def test_source_tables_are_joined_at_the_point_in_time_of_each_spine_row(tmp_path: Path) -> None:
    """Each spine row takes, from each other source, the latest row of its key that is not after it and not
    older than the TTL; the feature table is keyed by entity and time, so a second run changes nothing."""
    config = tmp_path / "features.yaml"
    config.write_text(FEATURE_JOIN)
    data = tmp_path / "data" / "feat"
    data.mkdir(parents=True)
    (data / "spine.csv").write_text("customer_id,as_of\n1,2024-01-10\n1,2024-02-10\n2,2024-01-10\n3,2024-01-10\n")
    (data / "orders_agg.csv").write_text("customer_id,as_of,order_total\n1,2024-01-05,100\n1,2024-01-20,150\n"
                                         "1,2024-02-09,175\n2,2023-11-01,50\n2,2024-01-11,60\n")
    (data / "profile.csv").write_text("customer_id,as_of,segment\n1,2023-12-31,gold\n1,2024-02-01,platinum\n"
                                      "3,2024-01-10,silver\n")
    database = tmp_path / "run.duckdb"
    for _ in range(2):
        result = run(config, tmp_path, data=tmp_path / "data", database=database)
        assert statuses(result) == {"customer_pit_features.transform": "succeeded",
                                    "customer_pit_features.write": "succeeded",
                                    "customer_pit_features.feature_table_properties": "skipped"}
    connection = duckdb.connect(str(database))
    rows = connection.execute("SELECT customer_id, CAST(as_of AS VARCHAR), order_total, segment, order_total_lag_1, "
                              "order_total_max_2, order_total_max_40d FROM features.customer_pit ORDER BY 1, 2").fetchall()
    assert rows == [(1, "2024-01-10", 100, "gold", None, 100, 100), (1, "2024-02-10", 175, "platinum", 100, 175, 175),
                    (2, "2024-01-10", None, None, None, None, None), (3, "2024-01-10", None, "silver", None, None, None)]


def test_the_ops_after_a_transforms_sql_are_applied(tmp_path: Path) -> None:
    """`sql "..." | ops` runs the ops over the query's rows (they were once left out of the plan's SQL)."""
    source = tmp_path / "p.spk"
    source.write_text("""pipeline p {
  source raw = bronze.raw
  target out = silver.out
  task pick = sql "SELECT id, name FROM {{ raw }} WHERE id > 1" | fill_nulls(fill_values: {name: "?"}) | add_hash_key(source_columns: [id], target_column: h)
  task store = write pick into out {
    mode overwrite
  }
}
""")
    data = tmp_path / "data" / "bronze"
    data.mkdir(parents=True)
    (data / "raw.csv").write_text("id,name\n1,a\n2,\n3,c\n")
    database = tmp_path / "run.duckdb"
    assert set(statuses(run(source, tmp_path, data=tmp_path / "data", env="prod", database=database)).values()) == {
        "succeeded"}
    rows = duckdb.connect(str(database)).execute("SELECT id, name, h IS NOT NULL FROM silver.out ORDER BY id").fetchall()
    assert rows == [(2, "?", True), (3, "c", True)]


def test_a_config_lookup_reads_the_table_it_names(tmp_path: Path) -> None:
    """`perform_lookup` with `lookup_table: main.crm.segments` reads that table, declared as the pipeline's."""
    config = tmp_path / "enriched.yaml"
    config.write_text("""pipeline_name: enriched_customers
pipeline_type: silver_batch_transformation
env: prod
source_table: main.bronze.customers
destination_catalog: main
destination_schema: silver
destination_table: customers_enriched
write_mode: overwrite
transformers:
  - name: perform_lookup
    params: {lookup_table: main.crm.segments, join_columns: [customer_id], select_columns: [segment]}
extra_config:
  source_columns: {customer_id: bigint, email: string}
""")
    for folder, name, text in (("bronze", "customers", "customer_id,email\n1,a@x\n2,b@x\n"),
                               ("crm", "segments", "customer_id,segment\n1,gold\n")):
        (tmp_path / "data" / folder).mkdir(parents=True)
        (tmp_path / "data" / folder / f"{name}.csv").write_text(text)
    database = tmp_path / "run.duckdb"
    assert set(statuses(run(config, tmp_path, data=tmp_path / "data", database=database)).values()) == {"succeeded"}
    rows = duckdb.connect(str(database)).execute("SELECT * FROM silver.customers_enriched ORDER BY 1").fetchall()
    assert rows == [(1, "a@x", "gold"), (2, "b@x", None)]
