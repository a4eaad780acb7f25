"""Properties of the dbt backend, with dbt as the oracle: for random chains over messy data the table
`dbt build` makes equals the chain's SQL run directly in DuckDB (and that result, written as a worked
example, is a passing dbt unit test), random pipelines run and test without errors, and random projects leave
the tables `sparklec run` leaves."""

from __future__ import annotations

import decimal
import json
import string
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import yaml
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from dbt_harness import dbt, results, schema_problems
from oracle import random_project, twice_at_random
from messy_data import VALUES, Case, cases, create_table
from sparklec.backends.dbt.models import PROFILE, nodes
from sparklec.compiler.driver import lower, optimise
from sparklec.compiler.output import write_atomically
from sparklec.ir import Column, Dataset, Exposure, Pipeline, Project, Transform, Write
from sparklec.ir.transformers import FillNulls
from sparklec.ir.transformers.base import FillValue
from sparklec.ir.tasks import Example, Given, Row
from sparklec.ir.values import Setting
from sparklec.lowering import Materialize, build_plans
from sparklec.sql import DIALECTS, Relation, chain_steps, with_ctes
from sparklec.testing import pipelines, projects

FEW = max(3, settings().max_examples // 10)
"""dbt takes seconds per project: a tenth of the profile's examples."""
LOAD_COLUMNS = ("_dbt_loaded_at", "_dbt_invocation_id")


def build(project: Project, folder: Path) -> dict[str, str]:
    artifacts = lower(optimise(project), "dbt", {})
    write_atomically(artifacts, folder)
    assert schema_problems(folder) == []
    return artifacts


@settings(max_examples=FEW)
@given(cases())
def test_dbt_builds_the_table_the_chain_computes(case: Case) -> None:
    schema, rows, ops = case
    connection = duckdb.connect()
    create_table(connection, "src", schema, rows)
    query = with_ctes("src", chain_steps(Relation("src", schema), ops, DIALECTS["duckdb"]))
    expected = connection.execute(query.sql("duckdb")).fetchall()
    output = [d[0] for d in connection.description or ()]
    example = Example(name="the chain run in DuckDB", given=(Given(relation="raw", rows=_rows(
        [c.name for c in schema], rows)),), expect=_rows(output, expected))
    pipeline = Pipeline(name="messy", env="prod", datasets=(Dataset(name="raw", schema="bronze", table="raw", columns=schema),
                                                 Dataset(name="cleaned", schema="silver", table="cleaned")),
                        steps=(Transform(name="clean", input="raw", steps=ops, examples=(example,)),
                               Write(name="store", input="clean", target="cleaned", mode="overwrite")))
    with tempfile.TemporaryDirectory() as folder:
        project_dir = Path(folder)
        build(Project(name="messy", pipelines=(pipeline,)), project_dir)
        connection = duckdb.connect(str(project_dir / "local.duckdb"))
        connection.execute("CREATE SCHEMA bronze")
        create_table(connection, "bronze.raw", schema, rows)
        connection.close()
        outcome = dbt(project_dir, "build")
        assert outcome.success, results(outcome)
        connection = duckdb.connect(str(project_dir / "local.duckdb"))
        built = connection.execute(f"SELECT * EXCLUDE ({', '.join(LOAD_COLUMNS)}) FROM silver.cleaned").fetchall()
        connection.close()
    assert Counter(built) == Counter(expected)
    assert results(outcome)["cleaned__the_chain_run_in_duckdb"] == "pass", "the example is a passing unit test"


def _rows(columns: list[str], rows: list[tuple[Any, ...]]) -> tuple[Row, ...]:
    """Rows as example rows, written as a user writes them: dates and times as text, decimals as numbers."""
    def scalar(value: Any) -> Any:
        if isinstance(value, decimal.Decimal):
            return float(value)
        return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)
    return tuple(tuple(Setting(key=c, value=scalar(v)) for c, v in zip(columns, row, strict=True)) for row in rows)


def _sample_row(columns: list[Column]) -> tuple[object, ...]:
    return tuple(next(v for v in VALUES[c.type or "string"] if v not in (None, "")) for c in columns)


@settings(max_examples=FEW)
@given(pipelines(max_steps=6))
def test_random_pipelines_run_and_their_tests_execute(pipeline: Pipeline) -> None:
    """Every model runs; every data test runs (it may find bad rows in the sample data, never an error)."""
    project = Project(name=pipeline.name, pipelines=(pipeline,))
    datasets = {(d.schema, d.table): d for d in pipeline.datasets}
    with tempfile.TemporaryDirectory() as folder:
        project_dir = Path(folder)
        build(project, project_dir)
        connection = duckdb.connect(str(project_dir / "local.duckdb"))
        for source in yaml.safe_load((project_dir / "models" / "sources.yml").read_text() or "{}").get("sources", []):
            connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{source["schema"]}"')
            for table in source["tables"]:
                dataset = datasets.get((source["schema"], table["name"]))
                columns = list(dataset.columns) if dataset and dataset.columns else [Column(name="id", type="string")]
                name = f'"{source["schema"]}"."{table["name"]}"'
                create_table(connection, name, tuple(columns), [_sample_row(columns)])
        connection.close()
        ran = dbt(project_dir, "run")
        assert ran.success, results(ran)
        tested = results(dbt(project_dir, "test"))
    assert all(status in ("pass", "fail", "warn") for status in tested.values()), tested


@settings(max_examples=FEW, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(projects(max_pipelines=3, max_steps=5, kinds=("transform", "write", "check")), st.data())
def test_dbt_build_leaves_the_tables_sparklec_run_leaves_for_random_projects_over_two_runs(project: Project,
                                                                                          data: st.DataObject) -> None:
    """Random projects of transforms, checks and writes over messy rows, built twice with new rows: every table
    `sparklec run` writes, `dbt build` leaves the same, and one writes a table only if the other does."""
    project = random_project(project)
    if any(isinstance(step.action, Materialize) for _, step in nodes(build_plans(project, PROFILE)).skipped):
        reject()  # a write after a loop or a branch: dbt leaves it to the orchestrator, and says so
    with tempfile.TemporaryDirectory() as folder:
        project_dir = Path(folder)
        write_atomically(lower(project, "dbt", {}), project_dir)

        def build_with_dbt(project: Project, database: Path, reference: Path) -> None:
            dbt(project_dir, "build", database=database)

        assert twice_at_random(project, data, build_with_dbt) > 0


TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=30)
JINJA = st.sampled_from(["{{ exceptions.raise_compiler_error('x') }}", "{% if true %}y{% endif %}", "{# c #}",
                         "{{ 7 * 7 }}", "{%- raw -%}", "'; DROP TABLE x; --", "\\'\"", "{{", "}}"])


@settings(max_examples=FEW)
@given(st.lists(TEXT | JINJA, min_size=5, max_size=5), JINJA | st.text(string.ascii_letters + string.punctuation,
                                                                        min_size=1),
       st.sampled_from(["state", "{{ col }}", "é 字"]))
def test_user_text_reaches_dbt_intact_and_inert(texts: list[str], example_value: str, column_name: str) -> None:
    """Descriptions, owners, values and names holding Jinja or quotes are neither rendered nor broken by dbt.

    (Example rows keep to printable ASCII: dbt's unit tests compare some white space, such as U+00A0, loosely.)"""
    description, column_text, owner, url_tail, fill = texts
    columns = (Column(name="id", type="bigint"), Column(name=column_name, type="string", description=column_text))
    clean = Transform(name="clean", input="raw", description=description,
                      steps=(FillNulls(fill_values=(FillValue(column=column_name, value=fill),)),),
                      examples=(Example(name=example_value, given=(Given(relation="raw", rows=(
                          (Setting(key="id", value=1), Setting(key=column_name, value=example_value)),)),),
                          expect=((Setting(key=column_name, value=example_value),),)),))
    pipeline = Pipeline(name="texts", env="prod", datasets=(Dataset(name="raw", schema="bronze", table="raw", columns=columns),
                                                 Dataset(name="out", schema="silver", table="out")),
                        steps=(clean, Write(name="store", input="clean", target="out", mode="overwrite")),
                        exposures=(Exposure(name="board", type="dashboard", owner_name=owner,
                                            url=f"https://bi.example.com/{url_tail}", description=description,
                                            depends_on=("out",)),))
    with tempfile.TemporaryDirectory() as folder:
        project_dir = Path(folder)
        build(Project(name="texts", pipelines=(pipeline,)), project_dir)
        connection = duckdb.connect(str(project_dir / "local.duckdb"))
        connection.execute("CREATE SCHEMA bronze")
        create_table(connection, "bronze.raw", columns, [(1, None), (2, "kept")])
        connection.close()
        outcome = dbt(project_dir, "build")
        assert outcome.success, results(outcome)
        connection = duckdb.connect(str(project_dir / "local.duckdb"))
        built = connection.execute(f'SELECT id, "{column_name}" FROM silver.out ORDER BY id').fetchall()
        connection.close()
        manifest = json.loads((project_dir / "target" / "manifest.json").read_text())
    assert built == [(1, fill), (2, "kept")]
    [model] = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    [exposure] = manifest["exposures"].values()
    [source] = manifest["sources"].values()
    assert model["description"] == description
    assert source["columns"][column_name]["description"] == column_text
    assert (exposure["owner"]["name"], exposure["url"], exposure["description"]) == (
        owner, f"https://bi.example.com/{url_tail}", description)
