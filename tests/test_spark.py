"""Spark SQL judged by Spark: every Spark statement the Argo and Step Functions plans run is accepted by Spark's
own parser, and the transforms leave the same rows on local Spark as on DuckDB, from the same sample data."""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from hypothesis import given, reject, settings
from sqlglot import exp

from conftest import COMPILED_SOURCES, EXAMPLES, compile_sources
from argo_harness import spark_sql_scripts
from spark_harness import Spark
from test_transformers import PARAMS, RELATIONS, SAMPLE_ROWS, SCHEMA
from sparklec.backends.argo.steps import PROFILE as ARGO
from sparklec.backends.stepfunctions.integrations import PROFILE as STEP_FUNCTIONS
from sparklec import job
from sparklec.compiler.driver import load, optimise
from sparklec.diagnostics import LoweringError
from sparklec.ir import Column, Pipeline, Project
from sparklec.ir import tasks as t
from sparklec.ir.transformers import CATALOGUE, build_op
from sparklec.ir.graph import StepGraph
from sparklec.local import load_sources
from sparklec.local.files import duckdb_type
from sparklec.local.engine import relation_columns
from sparklec.lowering import build_plans, inlined_transforms, work_database
from sparklec.lowering.actions import Job, Sql
from sparklec.lowering.profile import RUNTIME_DIALECTS
from sparklec.sql import DIALECTS, Relation, chain_steps, with_ctes
from sparklec.sql.ops import RELATION
from sparklec.sql.tasks import TaskSql, landing_table
from sparklec.testing import projects

TEMPLATE = re.compile(r"\$\{[^}]*\}")


@pytest.fixture(scope="module")
def spark() -> Iterator[Spark]:
    session = Spark()
    yield session
    session.close()


DATABRICKS_ONLY = re.compile(r"^(OPTIMIZE|VACUUM|GRANT|REVOKE)\b|\bSET TAGS\b|\b(DEEP|SHALLOW) CLONE\b|\* EXCEPT \(")
"""Databricks SQL that Apache Spark's parser does not know, for the steps that run on Databricks."""


def spark_statements(project: Project) -> Iterator[tuple[str, str]]:
    """(where, statement) for every Spark SQL statement the Argo and Step Functions plans of `project` run:
    the statements of steps on Spark runtimes and the `sql` given to jobs, each `${...}` a plain name (the
    Databricks SQL of steps on Databricks left out)."""
    for profile in (ARGO, STEP_FUNCTIONS):
        try:
            plans = build_plans(project, profile)
        except LoweringError:
            continue  # a task the target cannot run: an error of its own, tested elsewhere
        for plan in plans:
            for task in plan.tasks():
                where = f"{profile.name}: {plan.pipeline}.{task.name} on {task.runtime}"
                match task.action:
                    case Sql(statements=statements) if RUNTIME_DIALECTS.get(task.runtime or "") == "spark":
                        found = list(statements)
                    case Job(arguments=arguments) if "sql" in dict(arguments):
                        found = job.split(dict(arguments)["sql"])
                    case _:
                        found = []
                yield from ((where, TEMPLATE.sub("p0", statement)) for statement in found
                            if task.runtime != "databricks" or not DATABRICKS_ONLY.search(statement))


def unparsable(spark: Spark, project: Project) -> tuple[int, list[str]]:
    statements = list(spark_statements(project))
    problems = [f"{where}: {error}\n    {sql}" for where, sql in statements
                if (error := spark.parse_error(sql)) is not None]
    return len(statements), problems


def test_spark_parses_every_spark_statement_of_the_examples(spark: Spark) -> None:
    parsed = 0
    for source in COMPILED_SOURCES.values():
        count, problems = unparsable(spark, optimise(load([source], environ={})[0]))
        assert not problems, "\n".join(problems)
        parsed += count
    assert parsed >= 50, parsed


@settings(deadline=None, max_examples=25)
@given(projects(max_pipelines=2))
def test_spark_parses_every_spark_statement_of_any_project(spark: Spark, project: Project) -> None:
    count, problems = unparsable(spark, optimise(project))
    if not count:
        reject()
    assert not problems, "\n".join(problems)


def test_spark_parses_every_spark_sql_script_of_the_argo_examples(spark: Spark, tmp_path: Path) -> None:
    """What Argo's `spark-sql -e` pods run, read back from the manifests, statement by statement."""
    scripts = spark_sql_scripts(compile_sources(tmp_path, "argo"))
    statements = [statement for script in scripts for statement in script]
    problems = [f"{error}\n    {sql}" for sql in statements if (error := spark.parse_error(sql)) is not None]
    assert not problems, "\n".join(problems)
    assert len(scripts) >= 10 and len(statements) > len(scripts), (len(scripts), len(statements))


def test_the_spark_parser_is_no_pushover(spark: Spark) -> None:
    assert spark.parse_error("CREATE TABLE IF NOT EXISTS s.t USING DELTA AS SELECT * FROM u LIMIT 0") is None
    assert spark.parse_error("SELECT * EXCEPT (a) FROM u") is not None, "Databricks SQL, not Apache Spark's"


# --- the same rows on Spark as on DuckDB -----------------------------------------------------------------------


def cell(value: Any) -> Any:
    """A value as both engines can agree on: numbers rounded to 9 significant digits, times as ISO text, structs
    as the list of their fields' values."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return tuple(cell(v) for v in value)
    if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
        number = float(value)
        return round(number, 9 - int(math.floor(math.log10(abs(number)))) - 1) if number else 0.0
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def fresh_columns(columns: list[str], rows: list[list[Any]]) -> set[str]:
    """Columns holding the time of the run (audit columns): equal on no two engines."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    found = set()
    for index, name in enumerate(columns):
        values = [row[index] for row in rows]
        times = [datetime.datetime.fromisoformat(str(v).replace("T", " ")[:26]) for v in values
                 if v is not None and re.match(r"\d{4}-\d\d-\d\d[ T]\d\d:", str(v))]
        if times and len(times) == len(values) and all(abs((now - t).total_seconds()) < 3600 for t in times):
            found.add(name)
    return found


def rows_of(columns: list[str], rows: list[list[Any]], skip: set[str]) -> list[tuple[Any, ...]]:
    kept = [i for i, name in enumerate(columns) if name not in skip]
    return sorted((tuple(cell(row[i]) for i in kept) for row in rows), key=repr)


def spark_names(statement: str) -> str:
    """`statement` with every catalog named `spark_catalog`, the one catalog of a local Spark session."""
    tree = sqlglot.parse_one(statement, read="databricks")
    for table in tree.find_all(exp.Table):
        if table.args.get("catalog"):
            table.set("catalog", exp.to_identifier("spark_catalog"))
    return tree.sql(dialect="databricks")


class Engines:
    """Spark and DuckDB side by side, each with the statements of its own dialect for one pipeline."""

    def __init__(self, spark: Spark, duck: duckdb.DuckDBPyConnection, pipeline: Pipeline):
        self.spark, self.duck = spark, duck
        inlined = inlined_transforms(pipeline, ARGO)
        work = work_database(pipeline)
        self.on_spark, self.on_duckdb = (TaskSql(pipeline, dialect, work, inlined) for dialect in ("spark", "duckdb"))

    def duck_columns(self, table: str) -> tuple[Column, ...]:
        """The columns DuckDB gives `table`."""
        return relation_columns(self.duck, table)

    def reads(self, task: t.AnyTask) -> set[str]:
        """The tables and views `task` reads, through the transforms inlined into its SQL (as DuckDB names them)."""
        inlined = self.on_duckdb.inlined
        found = set()
        for name in task.reads():
            found |= self.reads(inlined[name]) if name in inlined else {self.relation(name)[1]}
        return found

    def relation(self, name: str) -> tuple[str, str]:
        return self.on_spark.text(self.on_spark.table(name)), self.on_duckdb.text(self.on_duckdb.table(name))

    def run(self, on_spark: list[str], on_duckdb: list[str]) -> None:
        self.spark.execute(*map(spark_names, on_spark))
        for statement in on_duckdb:
            self.duck.execute(statement)

    def copy(self, target: str, source: tuple[str, str], schema: str) -> None:
        """Make the table `target` of the rows of `source` (as Spark and DuckDB name it) on both engines: what
        any write leaves in an empty table, what an ingestion lands."""
        (spark_target, duck_target), (spark_source, duck_source) = self.relation(target), source
        self.run([f"CREATE SCHEMA IF NOT EXISTS {schema}", f"DROP TABLE IF EXISTS {spark_target}",
                  f"CREATE TABLE {spark_target} USING PARQUET AS SELECT * FROM {spark_source}"],
                 [f"CREATE SCHEMA IF NOT EXISTS {schema}",
                  f"CREATE OR REPLACE TABLE {duck_target} AS SELECT * FROM {duck_source}"])

    def same_rows(self, where: str, relation: str) -> int:
        """How many rows `relation` holds, once found equal on both engines (audit times aside)."""
        on_spark, on_duckdb = self.relation(relation)
        columns, spark_rows = self.spark.rows(f"SELECT * FROM {spark_names(on_spark)}")
        result = self.duck.execute(f"SELECT * FROM {on_duckdb}")
        duck_columns = [d[0] for d in result.description]
        duck_rows = [list(row) for row in result.fetchall()]
        assert columns == duck_columns, f"{where}: {columns} on Spark, {duck_columns} on DuckDB"
        skip = fresh_columns(columns, spark_rows) | fresh_columns(duck_columns, duck_rows)
        assert rows_of(columns, spark_rows, skip) == rows_of(columns, duck_rows, skip), \
            f"{where}: other rows on Spark than on DuckDB"
        return len(duck_rows)


UNDECLARED = """pipeline undeclared {
  source customers_raw = bronze.customers_raw
  task clean = from customers_raw
      | drop_exact_duplicates
      | clean_email_addresses(columns: [email])
      | add_hash_key(source_columns: [customer_id, email], target_column: customer_key)
}
"""
"""A transform over a table whose columns are declared nowhere: Spark's SQL for it is made by the job."""


def test_transforms_leave_the_same_rows_on_spark_as_on_duckdb(spark: Spark, tmp_path: Path) -> None:
    """Every transform whose inputs the sample data holds runs on both engines (ingestions land their source's
    rows, writes fill their empty targets); every view and written table is compared."""
    compared = rows = made_by_job = 0
    undeclared = tmp_path / "undeclared.spk"  # columns only the job sees, as it runs
    undeclared.write_text(UNDECLARED)
    for source in sorted((EXAMPLES / "dsl").glob("*.spk")) + [EXAMPLES / "sparkle", COMPILED_SOURCES["shared"],
                                                              undeclared]:
        project = optimise(load([source], environ={})[0])
        database = tmp_path / f"samples_of_{source.stem}.duckdb"  # a catalog named like no schema
        made, _ = load_sources(project, data=EXAMPLES / "data", database=database)
        duck = duckdb.connect(str(database))
        for table in made:
            path = tmp_path / f"{source.stem}-{table}.parquet"
            duck.execute(f"COPY {table} TO '{path}' (FORMAT parquet)")
            spark.load(table, path)
        readable = set(made)
        for pipeline in project.pipelines:
            engines = Engines(spark, duck, pipeline)
            graph = StepGraph(pipeline.steps, {}, engines.on_spark.inlined)
            for name in graph.order():
                task = graph.steps[name]
                if not isinstance(task, (t.Ingest, t.Transform, t.Write)):
                    continue
                if not engines.reads(task) <= readable:
                    continue
                if isinstance(task, t.Ingest):
                    landed = ".".join(landing_table(task))
                    if landed in readable:
                        engines.copy(task.name, (landed, landed), work_database(pipeline))
                        readable.add(engines.relation(task.name)[1])
                    continue
                try:
                    statements = engines.on_spark.task_statements(task) if isinstance(task, t.Transform) else []
                except LoweringError:  # Apache Spark's SQL cannot say it without the input's columns: the job
                    made = []  # sees them (and so does `sparklec run`), and fails where the columns clash
                    for arguments, columns in ((engines.on_spark.job_arguments(task), spark.columns),
                                               (engines.on_duckdb.job_arguments(task), engines.duck_columns)):
                        try:
                            made.append(job.statements(arguments | {"sql": ""}, columns))
                        except SystemExit as failure:
                            made.append(str(failure))
                    if isinstance(made[0], str) or isinstance(made[1], str):
                        assert made[0] == made[1], made
                        continue
                    made_by_job += 1
                    engines.run(*made)
                    readable.add(engines.relation(task.name)[1])
                    rows += engines.same_rows(f"{source.name}: {pipeline.name}.{name}", task.name)
                    compared += 1
                    continue
                if TEMPLATE.search(" ".join(statements)):
                    continue  # it takes parameters
                if isinstance(task, t.Write):
                    target = pipeline.dataset(task.target)
                    assert target is not None
                    try:
                        engines.copy(task.target, engines.relation(task.input), target.schema)
                    except LoweringError:
                        continue
                    relation = task.target
                else:
                    engines.run(statements, engines.on_duckdb.task_statements(task))
                    relation = task.name
                readable.add(engines.relation(relation)[1])
                rows += engines.same_rows(f"{source.name}: {pipeline.name}.{name}", relation)
                compared += 1
        duck.close()
    assert compared >= 15 and rows >= 50 and made_by_job >= 1, (compared, rows, made_by_job)


def test_a_failing_check_fails_the_spark_statement_every_spark_runtime_is_given(spark: Spark) -> None:
    """The check's statement (what a `spark-sql` pod, a Databricks, Glue or EMR job runs) raises on Spark when
    rows fail, and returns `failures = 0` when none do; a `warn` check only counts them."""
    from sparklec.frontends.dsl import parse

    project = optimise(parse("""pipeline gate {
  defaults { runtime databricks }
  source raw = gate.raw { columns { id: bigint } }
  task strict = check raw { not_null(id) }
  task lenient = check raw {
    severity warn
    not_null(id)
  }
}"""))
    [plan] = build_plans(project, STEP_FUNCTIONS)
    sql = {task.name: dict(task.action.arguments)["sql"] for task in plan.tasks() if isinstance(task.action, Job)}
    assert set(sql) == {"strict", "lenient"}
    spark.execute("CREATE SCHEMA IF NOT EXISTS gate",
                  "CREATE OR REPLACE VIEW gate.raw AS SELECT * FROM VALUES (1), (CAST(NULL AS BIGINT)) AS t(id)")
    error = spark.error({"rows": sql["strict"]})
    assert error is not None and "strict: rows fail the checks" in error, error
    assert spark.rows(sql["lenient"])[1] == [[1]]
    spark.execute("CREATE OR REPLACE VIEW gate.raw AS SELECT * FROM VALUES (1), (2) AS t(id)")
    assert spark.rows(sql["strict"])[1] == [[None]], "assert_true passed (it returns NULL)"


# --- every transformer on both engines -------------------------------------------------------------------------



@pytest.fixture(scope="module")
def samples(spark: Spark, tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """The sample rows as the table `samples`, and the relations the sample parameters read, on Spark and in the
    DuckDB connection returned."""
    duck = duckdb.connect()
    folder = tmp_path_factory.mktemp("samples")
    for table, (columns, rows) in {"samples": (SCHEMA, SAMPLE_ROWS),
                                   **{RELATION.format(n): r for n, r in RELATIONS.items()}}.items():
        duck.execute(f"CREATE TABLE {table} (" + ", ".join(f"{c.name} {duckdb_type(c.type or 'string')}"
                                                          for c in columns) + ")")
        duck.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' for _ in columns)})", rows)
        path = folder / f"{table.strip('_')}.parquet"  # Spark skips files whose names start with _
        duck.execute(f"COPY {table} TO '{path}' (FORMAT parquet)")
        spark.load(table, path)
    return duck


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_transformer_leaves_the_same_rows_on_spark_as_on_duckdb(
        spark: Spark, samples: duckdb.DuckDBPyConnection, name: str) -> None:
    """Each catalogue transformer, with its sample parameters, over the same rows on both engines: the same
    columns and the same rows (times of the run aside)."""
    op = build_op(name, PARAMS[name])
    source = Relation("samples", SCHEMA)
    on_spark, on_duckdb = (with_ctes("samples", chain_steps(source, [op], DIALECTS[d])).sql(dialect=d)
                           for d in ("spark", "duckdb"))
    columns, spark_rows = spark.rows(on_spark)
    result = samples.execute(on_duckdb)
    duck_columns = [d[0] for d in result.description]
    duck_rows = [list(row) for row in result.fetchall()]
    assert columns == duck_columns
    assert spark_rows, "the sample rows leave some rows"
    skip = fresh_columns(columns, spark_rows) | fresh_columns(duck_columns, duck_rows)
    assert rows_of(columns, spark_rows, skip) == rows_of(columns, duck_rows, skip), (on_spark, on_duckdb)
