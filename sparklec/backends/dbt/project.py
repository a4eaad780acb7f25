"""The files of the dbt project: configuration, profiles, models, sources, tests, exposures."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlglot import exp

from sparklec.backends.dbt.dialect import INPUT_COLUMNS, Jinja, inert, inert_data, jinja_string
from sparklec.backends.dbt.macros import macros_used
from sparklec.backends.formats import yaml_text
from sparklec.backends.dbt.models import Model, Nodes, Source, braces
from sparklec.backends.dbt.sql import model_files, sql_text, user_query
from sparklec.diagnostics import Diagnostic, Severity
from sparklec.ir import tasks as t
from sparklec import ENVS
from sparklec.ir.pipeline import Exposure, isolated
from sparklec.ir.transformers import ScdType2
from sparklec.lowering import Checks, ExecutionPlan, PlanTask
from sparklec.ir.values import format_duration
from sparklec.sql.checks import failing_rows
from sparklec.sql.ops import column

GENERATE_SCHEMA_NAME = """\
{# Models go to the schema their target table names, without the profile's schema as a prefix. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}
    {{ target.schema }}
  {%- else -%}
    {{ custom_schema_name | trim }}
  {%- endif -%}
{%- endmacro %}
"""
_TABLE = "__sparklec_checked__"


class ProjectFiles:
    """Collects the files of one dbt project."""

    def __init__(self, plans: tuple[ExecutionPlan, ...], nodes: Nodes, name: str, fuse: bool, intermediate: str):
        self.plans = plans
        self.nodes = nodes
        self.name = name
        self.fuse = fuse
        self.intermediate = intermediate
        self.files: dict[str, str] = {}
        self.model_entries: dict[str, dict[str, Any]] = {}
        self.snapshot_entries: dict[str, dict[str, Any]] = {}
        """Model name → the snapshot that keeps its history."""
        self.source_tests: dict[tuple[str, str], dict[str, list[Any]]] = {}
        self.test_names: set[str] = set()
        self.unit_tests: dict[str, list[dict[str, Any]]] = {}
        self.notes: list[Diagnostic] = []

    def build(self) -> dict[str, str]:
        snapshots: dict[str, list[dict[str, Any]]] = {}
        for model in self.nodes.models:
            self.files.update(model_files(model, self.nodes, self.fuse, self.intermediate))
            entry: dict[str, Any] = {"name": model.name}
            description = model.task.description or (model.target.description if model.target else "")
            if description:
                entry["description"] = description
            tasks = list(model.tasks)
            if model.history is not None and model.target is not None:
                snapshot = self.snapshot(model.snapshot, model.changes, model.target.schema,
                                         f"{model.target.table}_history", model.history)
                snapshots.setdefault(model.pipeline, []).append(snapshot)
                self.snapshot_entries[model.name] = snapshot
                self.model_entries[model.changes] = {"name": model.changes,
                                                     "config": _meta(model.pipeline, tasks=tasks[:1])}
                tasks = tasks[1:]  # the transform runs in the changes model, the write in the snapshot and here
            entry["config"] = _meta(model.pipeline, tasks=tasks)
            entry["config"]["meta"] = {**{s.key: s.value for s in model.plan.tags}, **entry["config"]["meta"]}
            self.model_entries[model.name] = entry
            for example in model.query.examples:
                self.unit_test(model, example)
        for plan in self.plans:
            for step in sorted(plan.steps.walk(), key=lambda step: step.name):
                if isinstance(step, PlanTask) and isinstance(step.action, Checks) \
                        and (plan.pipeline, step) not in self.nodes.skipped:
                    self.checks(plan.pipeline, step.name, step.action)
        exposures = [self.exposure(p.pipeline, e) for p in self.plans for e in p.exposures]
        if exposures:
            self.files["models/exposures.yml"] = _yaml({"version": 2, "exposures": exposures})
        self.files["models/sources.yml"] = _yaml({"version": 2, "sources": self.sources()})
        for pipeline_name, entries in snapshots.items():
            self.files[f"snapshots/{pipeline_name}.yml"] = _yaml({"version": 2, "snapshots": entries})
        for plan in self.plans:
            entries = [self.model_entries[name] for m in self.nodes.models if m.plan is plan
                       for name in ((m.changes,) if m.history is not None else ()) + (m.name,)]
            if entries:
                unit_tests = self.unit_tests.get(plan.pipeline)
                self.files[f"models/{plan.pipeline}/schema.yml"] = _yaml(
                    {"version": 2, "models": entries} | ({"unit_tests": unit_tests} if unit_tests else {}))
        self.files["macros/generate_schema_name.sql"] = GENERATE_SCHEMA_NAME
        self.files.update(macros_used(list(self.files.values())))
        self.files["dbt_project.yml"] = self.dbt_project()
        self.files["profiles.yml"] = self.profiles()
        self.files["README.md"] = self.readme()
        return self.files

    @staticmethod
    def snapshot(name: str, changes: str, schema: str, table: str, history: ScdType2) -> dict[str, Any]:
        """A dbt snapshot keeping the type-2 history of the model `changes`."""
        return {"name": name, "relation": f"ref('{changes}')", "config": {
            "schema": schema, "alias": table, "unique_key": list(history.business_key), "strategy": "check",
            "check_cols": list(history.compare_columns) if history.compare_columns else "all",
            "snapshot_meta_column_names": {"dbt_valid_from": history.effective_from,
                                           "dbt_valid_to": history.effective_to},
        }}

    # --- tests ---------------------------------------------------------------------

    def unit_test(self, model: Model, example: t.Example) -> None:
        """A dbt unit test of `model` from a worked example of its transform."""
        sql = self.files.get(f"models/{model.pipeline}/{model.name}.sql", "")
        reason = ("it keeps history in a snapshot" if model.history is not None
                  else "with `fuse=false` its chain is several models" if not self.fuse and
                  len(model.query.steps) > 1
                  else f"its model looks up the columns of `{model.query.input}` as it runs, which dbt unit "
                       "tests cannot; declare that relation's columns" if INPUT_COLUMNS in sql else None)
        if reason is not None:
            self.notes.append(Diagnostic(
                code="W402", severity=Severity.WARNING, span=example.span,
                message=f"example `{example.name}` of `{model.task.name}` is not a dbt unit test: {reason}"))
            return
        given = [{"input": self.nodes.references[(model.pipeline, g.relation)], "rows": _rows(g.rows)}
                 for g in example.given]
        self.unit_tests.setdefault(model.pipeline, []).append({
            "name": self.test_name(f"{model.name}__{_slug(example.name)}"),
            "description": example.name,
            "model": model.name,
            "overrides": {"macros": {"is_incremental": False}},
            "given": given,
            "expect": {"rows": _rows(example.expect)},
        })

    def checks(self, pipeline: str, task: str, test: Checks) -> None:
        """The dbt tests of the check step `task` of `pipeline`."""
        own = (pipeline, task) if (pipeline, task) in self.nodes.model_of else (pipeline, test.input)  # a view apart
        model = self.nodes.model_of.get(own)
        reference = self.nodes.references[own]
        for index, check in enumerate(test.checks, start=1):
            generic = self.generic(pipeline, check)
            if generic is not None:
                if model is None:
                    target = self.source_entry(reference)
                else:  # on a relation with history, the snapshot's tests run before the current versions are written
                    target = self.snapshot_entries.get(model) or self.model_entries[model]
                for column_name, test_name, arguments in generic:
                    body: dict[str, Any] = {"name": self.test_name(f"{pipeline}__{task}__{test_name}_{column_name}")}
                    if arguments:
                        body["arguments"] = arguments
                    body["config"] = _meta(pipeline, task=task)
                    if test.severity == "warn":
                        body["config"]["severity"] = "Warn"
                    self.attach(target, column_name, {test_name: body})
                continue
            name = self.test_name(f"{pipeline}__{task}__{index}_{type(check).__name__.lower()}")
            body_sql = self.singular(pipeline, check, reference)
            header = f"-- Check {index} of `{inert(task)}` in pipeline `{inert(pipeline)}`.\n"
            meta = json.dumps(_meta(pipeline, task=task)["meta"], ensure_ascii=False)  # a Jinja literal too
            severity = ", severity='warn'" if test.severity == "warn" else ""
            header += f"{{{{ config(meta={meta}{severity}) }}}}\n"
            self.files[f"tests/{name}.sql"] = header + "\n" + body_sql + "\n"

    def test_name(self, name: str) -> str:
        """`name` as a dbt node name (letters, digits and `_`: it names files and unique ids), or `name_2`,
        `name_3`, ... when a check of the same kind on the same column came first."""
        name = re.sub(r"[^A-Za-z0-9_]+", "_", name)
        unique, count = name, 1
        while unique in self.test_names:
            count += 1
            unique = f"{name}_{count}"
        self.test_names.add(unique)
        return unique

    @staticmethod
    def attach(entry: dict[str, Any], column_name: str, test: Any) -> None:
        columns = entry.setdefault("columns", [])
        found = next((c for c in columns if c["name"] == column_name), None)
        if found is None:
            found = {"name": column_name}
            columns.append(found)
        found.setdefault("data_tests", []).append(test)

    def source_entry(self, reference: str) -> dict[str, Any]:
        source = next(s for s in self.nodes.sources if f"source('{s.name}', '{s.table}')" == reference)
        return self.source_tests.setdefault((source.name, source.table), {})

    def generic(self, pipeline: str, check: t.AnyCheck) -> list[tuple[str, str, dict[str, Any] | None]] | None:
        """Generic dbt tests for `check` as (column, test, arguments); None when it needs a singular test."""
        if isinstance(check, t.NotNull):
            return [(c, "not_null", None) for c in check.column_names]
        if isinstance(check, t.Unique) and len(check.column_names) == 1:
            return [(check.column_names[0], "unique", None)]
        if isinstance(check, t.AcceptedValues) and len({type(v) for v in check.values}) == 1:
            quote = isinstance(check.values[0], str)
            return [(check.column, "accepted_values", {"values": list(check.values)} | ({} if quote else {"quote": False}))]
        if isinstance(check, t.Relationships):
            target = self.nodes.references.get((pipeline, check.to), "")
            return [(check.column, "relationships", {"to": target, "field": check.field})]
        return None

    def singular(self, pipeline: str, check: t.AnyCheck, reference: str) -> str:
        """A query returning the failing rows of `check` on the relation `reference`."""
        table = exp.to_table(_TABLE)
        if isinstance(check, t.Freshness):
            newest = exp.alias_(exp.Max(this=column(check.column)), "newest")
            query = exp.select(exp.Star()).from_(exp.select(newest).from_(table).subquery("latest"))
            text = sql_text(query).replace(_TABLE, braces(reference))
            return (f"-- The newest `{inert(check.column)}` must be at most {format_duration(check.max_age)} old.\n"
                    f"{text}\nWHERE\n  newest IS NULL OR {{{{ sparklec_seconds_since('newest') }}}} > {check.max_age}")
        if isinstance(check, t.CustomSqlCheck):
            return self.custom_check(pipeline, check, reference)
        return sql_text(failing_rows(check, table)).replace(_TABLE, braces(reference))

    def custom_check(self, pipeline: str, check: t.CustomSqlCheck, reference: str) -> str:
        def resolve(name: str) -> str:
            return reference if name == "input" else self.nodes.references[(pipeline, name)]
        rendered = user_query(check.sql, resolve, f"check `{check.name}`", check.span)
        return f"-- {inert(check.name)}: the rows this returns fail the check.\n{rendered}"

    # --- sources, exposures, configuration -------------------------------------------------

    def sources(self) -> list[dict[str, Any]]:
        grouped: dict[str, list[Source]] = {}
        for source in self.nodes.sources:
            grouped.setdefault(source.name, []).append(source)
        result = []
        used = "\n".join(self.files.values())
        for name, tables in grouped.items():
            tables = [s for s in tables if f"source('{s.name}', '{s.table}')" in used
                      or (s.name, s.table) in self.source_tests]
            if not tables:
                continue
            first = tables[0]
            entry: dict[str, Any] = {"name": name, "schema": first.schema}
            if first.database:
                entry["database"] = Jinja("{{ target.database if target.type == 'duckdb' else "
                                          + jinja_string(first.database) + " }}")
            entry["tables"] = []
            for source in tables:
                table: dict[str, Any] = {"name": source.table}
                if source.description:
                    table["description"] = source.description
                tests = self.source_tests.get((source.name, source.table), {})
                columns = {c.name: {"name": c.name, **({"description": c.description} if c.description else {})}
                           for c in source.columns}
                for column_entry in tests.get("columns", []):
                    columns.setdefault(column_entry["name"], {"name": column_entry["name"]}).update(
                        {"data_tests": column_entry["data_tests"]})
                if columns:
                    table["columns"] = list(columns.values())
                if tests.get("data_tests"):
                    table["data_tests"] = tests["data_tests"]
                entry["tables"].append(table)
            result.append(entry)
        return result

    def exposure(self, pipeline: str, exposure: Exposure) -> dict[str, Any]:
        owner = {k: v for k, v in (("name", exposure.owner_name), ("email", exposure.owner_email)) if v}
        entry: dict[str, Any] = {"name": exposure.name, "type": exposure.type, "maturity": exposure.maturity}
        if exposure.url:
            entry["url"] = exposure.url
        if exposure.description:
            entry["description"] = exposure.description
        entry["depends_on"] = [self.nodes.references[(pipeline, d)]
                               for d in exposure.depends_on if (pipeline, d) in self.nodes.references]
        entry["owner"] = owner or {"name": pipeline}
        if exposure.tags:
            entry["config"] = {"tags": list(exposure.tags)}
        return entry

    def dbt_project(self) -> str:
        folders = {p.pipeline: {"+tags": [inert(p.pipeline)]} for p in self.plans}  # dbt renders values
        return yaml_text({
            "name": self.name, "version": "1.0.0", "config-version": 2, "profile": self.name,
            "model-paths": ["models"], "macro-paths": ["macros"], "test-paths": ["tests"],
            "snapshot-paths": ["snapshots"],
            "clean-targets": ["target", "dbt_packages"],
            "models": {self.name: {"+materialized": self.intermediate, **folders}},
        })

    def profiles(self) -> str:
        catalog = next((d.catalog for p in self.plans for d in p.datasets if d.catalog), "main")
        outputs: dict[str, Any] = {"local": {
            "type": "duckdb", "path": "{{ env_var('SPARKLEC_DUCKDB_PATH', 'local.duckdb') }}", "threads": 4,
        }}
        for env in sorted({plan.env for plan in self.plans}, key=ENVS.index):
            isolation = next(plan.isolation for plan in self.plans if plan.env == env)
            env_catalog, schema = isolated(catalog, "default", env, isolation)
            outputs[env] = {
                "type": "databricks", "catalog": env_catalog, "schema": schema,
                "host": "{{ env_var('DATABRICKS_HOST') }}", "http_path": "{{ env_var('DATABRICKS_HTTP_PATH') }}",
                "token": "{{ env_var('DATABRICKS_TOKEN') }}", "threads": 4,
            }
        return yaml_text({self.name: {"target": "{{ env_var('DBT_TARGET', 'local') }}", "outputs": outputs}})

    def readme(self) -> str:
        lines = [
            f"# {self.name}", "",
            "A dbt project generated by sparklec from "
            + ", ".join(f"`{p.pipeline}`" for p in self.plans) + ".", "",
            "```sh",
            "pip install 'dbt-core~=1.11.0' 'dbt-duckdb~=1.11.0'    # and dbt-databricks for the warehouse",
            "dbt build --profiles-dir .                            # on a local DuckDB file (target `local`)",
            f"DBT_TARGET={self.plans[0].env:<4} dbt build --profiles-dir .            # on Databricks: set DATABRICKS_HOST,",
            "                                                      # DATABRICKS_HTTP_PATH and DATABRICKS_TOKEN",
            "```", "",
            "Sources are declared in `models/sources.yml`; ingested tables are expected in the",
            "`landing_<system>` schemas where your extract-and-load tool writes them.",
        ]
        if self.nodes.skipped:
            lines += ["", "These tasks are not dbt's to run; the orchestrator backends run them:", ""]
            lines += [f"- `{pipeline}.{task.name}` ({task.kind})"
                      for pipeline, task in sorted(self.nodes.skipped, key=lambda s: (s[0], s[1].name))]
        return "\n".join(lines) + "\n"


def _yaml(data: dict[str, Any]) -> str:
    """A dbt properties file: user text in it is not rendered by dbt (`inert_data`)."""
    return yaml_text(inert_data(data))


def _rows(rows: tuple[t.Row, ...]) -> list[dict[str, Any]]:
    return [{cell.key: cell.value for cell in row} for row in rows]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "example"


def _meta(pipeline: str, **tasks: str | list[str]) -> dict[str, Any]:
    """The `config` of a dbt node naming its pipeline and the IR tasks it runs (`tasks` or `task`)."""
    return {"meta": {"sparklec": {"pipeline": pipeline, **tasks}}}
