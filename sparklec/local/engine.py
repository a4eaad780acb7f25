"""Running a project on embedded DuckDB: its SQL tasks in dependency order, independent ones at once.

Sources are views over local files (or tables already in the database);
what a task produces is a table in the pipeline's work schema, dropped at
the end; writes go to the target tables, created when missing, so a second
run against the same database file writes incrementally.  Loops run their
items one after another; branches are decided on parameters and the results
of earlier tasks.  Tasks that need a cluster, a container or a person are
skipped, each with its reason, and so is everything that reads what they
would have produced.
"""

from __future__ import annotations

import operator
import re
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import attrs
from typing_extensions import assert_never
import duckdb
import networkx as nx
from sqlglot import exp

from sparklec.diagnostics import Diagnostic, LoweringError, Severity, UsageError, did_you_mean
from sparklec.compiler.output import check_name
from sparklec.ir.template import render
from sparklec.ir.text import check_text
from sparklec.ir import tasks as t
from sparklec.ir.columns import ColumnFlow
from sparklec.ir.graph import StepGraph, dataset_writers
from sparklec.ir.pipeline import Dataset, Parameter, Pipeline, Project, as_written
from sparklec.ir.values import Column, Value, format_duration
from sparklec.local import files
from sparklec.sql.tasks import TaskSql, landing_table

SUCCEEDED, FAILED, WARNED, SKIPPED, RUNNING = "succeeded", "failed", "warned", "skipped", "running"
SAMPLE_ROWS = 5


@attrs.define
class CheckOutcome:
    """One check of a quality-check task: how many rows fail it, and the first few of them."""

    check: str
    failures: int
    columns: tuple[str, ...] = ()
    sample: list[tuple[Any, ...]] = attrs.field(factory=list)


@attrs.define
class TaskRun:
    """What happened to one task (inside a loop: one task for one item)."""

    pipeline: str
    name: str
    kind: str
    status: str = RUNNING
    detail: str = ""
    rows_in: int | None = None
    rows_out: int | None = None
    seconds: float = 0.0
    checks: list[CheckOutcome] = attrs.field(factory=list)


class Refused(Exception):
    """A task that must not do what it would do (a write whose columns do not fit its target)."""


@attrs.frozen
class Binding:
    """A dataset or an ingested relation read from `path` (None: the database's table, as it is).

    A file for a dataset the project writes (`seeds`) stands in for the
    table when a task reads it before the run has made it (its writer did
    not run here): the table is created with the file's rows.
    """

    pipeline: str
    relation: str
    table: str
    path: Path | None
    seeds: bool = False


Listener = Callable[[TaskRun], None]


def bind(project: Project, data: Path | None, explicit: Mapping[str, Path],
         existing: Callable[[str, str], bool]) -> tuple[list[Binding], list[Diagnostic]]:
    """Where each dataset and each ingested relation of `project` is read from.

    `explicit` maps a dataset's name (or ``schema.table``), or an ingest
    task's name, to a file; otherwise the database's own table is used, or
    a file under `data` (`files.candidates`; outside ``prod``, also under the
    names as written, without the environment's prefix).  What is found
    nowhere is skipped when the pipeline runs, with what reads it; a source
    found nowhere is also warned about (W601) up front.
    """
    written = {_table_key(p.dataset(w)) for p in project.pipelines for w in dataset_writers(p)}  # type: ignore[arg-type]
    bindings: list[Binding] = []
    problems: list[Diagnostic] = []
    used: set[str] = set()
    for pipeline in project.pipelines:
        for dataset in pipeline.datasets:
            key, parts = _table_key(dataset), (dataset.catalog or "", dataset.schema, dataset.table)
            names = [k for k in (dataset.name, key, dataset.qualified_name) if k in explicit]
            used.update(names)
            seeds = key in written
            path = explicit[names[0]] if names else None
            if path is None and existing(dataset.schema, dataset.table):
                bindings.append(Binding(pipeline.name, dataset.name, key, None, seeds))
                continue
            path = path or files.find(data, parts) or files.find(data, [as_written(p, pipeline.env) for p in parts])
            if path is not None:
                bindings.append(Binding(pipeline.name, dataset.name, key, path, seeds))
            elif not seeds:
                looked = files.candidates(data or Path("DATA"), parts)[0].with_suffix(".csv")
                problems.append(Diagnostic(
                    code="W601", severity=Severity.WARNING, span=dataset.span,
                    message=f"no rows for source `{dataset.name}` ({dataset.qualified_name}): what reads it is skipped",
                    help=f"put them in {looked} (or .parquet, .json), or give a file with --bind {dataset.name}=PATH"))
        for task in t.walk(pipeline.steps):
            if isinstance(task, t.Ingest):
                schema, table = landing_table(task)
                used.update({task.name} & set(explicit))
                path = explicit.get(task.name)
                if path is None and existing(schema, table):
                    bindings.append(Binding(pipeline.name, task.name, f"{schema}.{table}", None))
                    continue
                path = path or files.find(data, (schema, table))
                if path is not None:
                    bindings.append(Binding(pipeline.name, task.name, f"{schema}.{table}", path))
    bindable = {n for p in project.pipelines for d in p.datasets for n in (d.name, _table_key(d))} | {
        task.name for p in project.pipelines for task in t.walk(p.steps) if isinstance(task, t.Ingest)}
    for name in sorted(set(explicit) - used):
        problems.append(Diagnostic(code="E604", message=f"--bind names `{name}`, which is no dataset or ingestion",
                                   help=did_you_mean(name, bindable)
                                   or "name a dataset (its name or schema.table) or an ingest task"))
    return bindings, problems


def _table_key(dataset: Dataset) -> str:
    """The table a dataset is in DuckDB: ``schema.table`` (catalogs are the warehouse's)."""
    return f"{dataset.schema}.{dataset.table}"


def parse_params(project: Project, given: Mapping[str, str]) -> dict[str, dict[str, Value]]:
    """Each pipeline's parameter values: its defaults, overridden by `given` (text, read by the type)."""
    declared = {p.name for pipeline in project.pipelines for p in pipeline.parameters}
    problems = [Diagnostic(code="E602", message=f"no pipeline has a parameter `{name}`",
                           help=f"parameters: {', '.join(sorted(declared)) or 'none'}")
                for name in given if name not in declared]
    values: dict[str, dict[str, Value]] = {}
    for pipeline in project.pipelines:
        values[pipeline.name] = {}
        for parameter in pipeline.parameters:
            if parameter.name in given:
                try:
                    values[pipeline.name][parameter.name] = _parameter_value(parameter, given[parameter.name])
                except ValueError as error:
                    problems.append(Diagnostic(code="E602", message=f"--param {parameter.name}: {error}",
                                               span=parameter.span))
            elif parameter.default is not None:
                values[pipeline.name][parameter.name] = parameter.default
    if problems:
        raise UsageError(problems)
    return values


def _parameter_value(parameter: Parameter, text: str) -> Value:
    kind = parameter.type
    if kind.startswith("list<"):
        inner = attrs.evolve(parameter, type=kind[5:-1])
        items = [item.strip() for item in text.strip().strip("[]").split(",") if item.strip()]
        return tuple(_parameter_value(inner, item.strip("\"'")) for item in items)
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise ValueError(f"`{text}` is not true or false")
        return text.lower() == "true"
    if kind == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"`{text}` is not a date (YYYY-MM-DD)")
    return text


class LocalRun:
    """One run of a project against a DuckDB database (a file, or memory)."""

    def __init__(self, project: Project, connection: duckdb.DuckDBPyConnection, bindings: Sequence[Binding],
                 params: Mapping[str, Mapping[str, Value]], listener: Listener | None = None, workers: int = 4):
        self.connection = connection
        self.params = params
        self.listener = listener or (lambda run: None)
        self.workers = workers
        self.bindings = list(bindings)
        self.tasks: list[TaskRun] = []
        self.written: set[str] = set()
        self.made = {_table_key(p.dataset(d)) for p in project.pipelines for d in dataset_writers(p)}  # type: ignore[arg-type]
        """The tables of the datasets some pipeline of the project writes."""
        self.lock = threading.Lock()
        self.project = self._with_file_columns(project)

    # --- preparing sources ----------------------------------------------------------

    def _with_file_columns(self, project: Project) -> Project:
        """Create the views over the bound files; columns nobody declared are taken from the files."""
        pipelines = []
        for pipeline in project.pipelines:
            for schema in {_work(pipeline), *(_quote(pipeline.dataset(d).schema)  # type: ignore[union-attr]
                                              for d in dataset_writers(pipeline))}:
                self.connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            found: dict[str, tuple[Column, ...]] = {}
            for binding in (b for b in self.bindings if b.pipeline == pipeline.name and not b.seeds):
                declared = declared_columns(pipeline, binding.relation)
                table = binding.table if pipeline.dataset(binding.relation) else f"{_work(pipeline)}.{binding.relation}"
                if binding.path is not None:
                    read_file(self.connection, table, binding.path, declared, "CREATE OR REPLACE VIEW")
                elif table != binding.table:  # landed rows already in the database
                    self.connection.execute(f"CREATE OR REPLACE VIEW {'.'.join(_quoted_parts(table))} AS "
                                            f"SELECT * FROM {'.'.join(_quoted_parts(binding.table))}")
                if not declared:
                    found[binding.relation] = self._columns(table)
            pipelines.append(_evolve_columns(pipeline, found))
        return attrs.evolve(project, pipelines=tuple(pipelines))

    def seed(self, table: str, path: Path, declared: tuple[Column, ...]) -> None:
        """The table `table` made of the rows of the file at `path`."""
        read_file(self.connection, table, path, declared, "CREATE TABLE IF NOT EXISTS")

    def _columns(self, table: str) -> tuple[Column, ...]:
        found = describe(self.connection, ".".join(_quoted_parts(table)))
        return tuple(Column(name=name, type=files.ir_type(kind)) for name, kind in found.items())

    # --- running ---------------------------------------------------------------------

    def run(self) -> list[TaskRun]:
        """Run every pipeline (upstream pipelines first); the work schemas are dropped afterwards."""
        try:
            for pipeline in pipeline_order(self.project):
                _PipelineRun(self, pipeline).run()
        finally:
            for pipeline in self.project.pipelines:
                self.connection.execute(f"DROP SCHEMA IF EXISTS {_work(pipeline)} CASCADE")
        return self.tasks

    def report(self, run: TaskRun) -> None:
        with self.lock:
            if run.status != RUNNING:
                self.tasks.append(run)
            self.listener(run)

    def exports(self, paths: Mapping[str, str], scratch: Path) -> dict[str, Callable[[Path], None]]:
        """The targets written by the run as files to write: `paths` (table → relative path, see
        `export_paths`) → a function that writes the table as Parquet at the path it is given (by way of
        `scratch`, the one folder the run's SQL may write to)."""
        def writer(table: str) -> Callable[[Path], None]:
            def write(path: Path) -> None:
                exported = scratch / paths[table].replace("/", "__")
                self.connection.execute(f"COPY (SELECT * FROM {'.'.join(_quoted_parts(table))}) TO "
                                        f"{exp.Literal.string(str(exported)).sql('duckdb')} (FORMAT parquet)")
                shutil.move(exported, path)
            return write

        return {paths[table]: writer(table) for table in sorted(self.written)}


def export_paths(project: Project) -> dict[str, str]:
    """Where each table the project writes is exported: ``schema.table`` → ``<schema>/<table>.parquet``.

    Raises `UsageError` (E504) for a name that would make a path leave the output folder."""
    paths = {}
    for pipeline in project.pipelines:
        for name in dataset_writers(pipeline):
            dataset = pipeline.dataset(name)
            assert dataset is not None
            check_name(dataset.schema, f"the schema of target `{dataset.name}`", dataset.span)
            check_name(f"{dataset.table}.parquet", f"the table of target `{dataset.name}`", dataset.span)
            paths[_table_key(dataset)] = f"{dataset.schema}/{dataset.table}.parquet"
    return paths


class _PipelineRun:
    """The steps of one pipeline, level by level."""

    def __init__(self, local: LocalRun, pipeline: Pipeline):
        self.local = local
        self.pipeline = pipeline
        self.sql = local_sql(pipeline)
        self.writers = dataset_writers(pipeline)
        self.params = dict(local.params.get(pipeline.name, {}))
        self.results: dict[str, dict[str, Value]] = {}
        self.unavailable: dict[str, str] = {}
        self.rows: dict[str, int] = {}
        bound = {b.relation for b in local.bindings if b.pipeline == pipeline.name}
        for task in t.walk(pipeline.steps):
            if isinstance(task, t.Ingest) and task.name not in bound:
                self.unavailable[task.name] = not_landed(task)
        for dataset in pipeline.datasets:
            if dataset.name not in bound and dataset.name not in self.writers and _table_key(dataset) not in local.made:
                self.unavailable[dataset.name] = f"no rows for source `{dataset.name}` here"

    def run(self) -> None:
        if not self.level(self.pipeline.steps, {}) and self.pipeline.on_failure:
            self.level(self.pipeline.on_failure, {})

    def level(self, steps: tuple[t.Step, ...], scope: dict[str, Value]) -> bool:
        """Run one level's steps as their dependencies allow; False when one of them failed."""
        graph = StepGraph(steps, self.writers)
        waiting = {name: set(graph.predecessors(name)) for name in graph.order()}
        done: dict[str, bool] = {}
        running: dict[Future[bool], str] = {}
        with ThreadPoolExecutor(self.local.workers) as pool:
            while waiting or running:
                for name in [n for n, before in waiting.items() if before <= done.keys()]:
                    del waiting[name]
                    failed = [p for p in graph.predecessors(name) if not done[p]]
                    if failed:
                        self.not_run(graph.steps[name], scope, f"`{failed[0]}` failed")
                        done[name] = False
                    else:
                        running[pool.submit(self.step, graph.steps[name], scope)] = name
                if running:
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        done[running.pop(future)] = future.result()
        return all(done.values())

    def step(self, step: t.Step, scope: dict[str, Value]) -> bool:
        if isinstance(step, t.ForEach):
            items = step.items if step.items is not None else self.params.get(step.items_param or "", ())
            items = items if isinstance(items, tuple) else (items,)
            if not items:
                given = f" (give them with --param {step.items_param}=a,b,...)" if step.items_param else ""
                for inner in step.body:
                    self.not_run(inner, scope, f"the loop `{step.name}` has no items{given}")
            ok = True
            for item in items:
                ok = self.level(step.body, {**scope, step.var: item}) and ok
            return ok
        if isinstance(step, t.Branch):
            holds = self.holds(step.condition)
            taken, other = (step.then, step.otherwise) if holds else (step.otherwise, step.then)
            for skipped in other:
                self.not_run(skipped, scope, f"`{step.name}` took the other arm")
            return self.level(taken, scope)
        return self.task(step, scope)

    def not_run(self, step: t.Step, scope: dict[str, Value], reason: str) -> None:
        for task in t.walk((step,)):
            if isinstance(task, t.Task):
                if task.produces_relation:
                    self.unavailable[task.name] = reason
                self.local.report(TaskRun(self.pipeline.name, self.label(task, scope), t.kind_name(task), SKIPPED,
                                         reason))

    def label(self, task: t.AnyTask, scope: dict[str, Value]) -> str:
        items = [str(v) for v in scope.values()]
        return f"{task.name}[{', '.join(items)}]" if items else task.name

    # --- tasks -----------------------------------------------------------------------

    def task(self, task: t.AnyTask, scope: dict[str, Value]) -> bool:
        run = TaskRun(self.pipeline.name, self.label(task, scope), t.kind_name(task))
        for relation in task.reads():
            self.stand_in(relation)
        missing = [r for r in task.reads() if r in self.unavailable]
        reason = f"needs `{missing[0]}`: {self.unavailable[missing[0]]}" if missing else cannot_run(task)
        if reason is None and isinstance(task, t.Ingest) and task.name in self.unavailable:
            reason = self.unavailable[task.name]
        if reason is not None:
            if task.produces_relation:
                self.unavailable.setdefault(task.name, reason)
            run.status, run.detail = SKIPPED, reason
            self.local.report(run)
            return True
        self.local.report(run)
        started = time.perf_counter()
        cursor = self.local.connection.cursor()
        try:
            run.rows_in = sum(self.count(cursor, r) for r in task.reads()) if task.reads() else None
            run.status = self.execute(cursor, task, run, scope)
        except (duckdb.Error, LoweringError, Refused) as error:
            run.status, run.detail = FAILED, _first_line(error)
        finally:
            cursor.close()
        run.seconds = time.perf_counter() - started
        self.results[task.name] = {"status": run.status, "rows": run.rows_out or 0,
                                   "failures": sum(c.failures for c in run.checks)}
        self.local.report(run)
        return run.status != FAILED

    def execute(self, cursor: duckdb.DuckDBPyConnection, task: t.AnyTask, run: TaskRun, scope: dict[str, Value]) -> str:
        """Run `task`'s SQL; its status."""
        values = {**self.params, **scope}
        match task:
            case t.Ingest():
                run.rows_out = self.count(cursor, task.name)
                binding = next(b for b in self.local.bindings if b.pipeline == self.pipeline.name
                               and b.relation == task.name)
                run.detail = f"read {binding.path or binding.table}"
                return SUCCEEDED
            case t.Transform():
                table = self.sql.table(task.name)
                known = self.sql.columns.input_schema(task)
                columns = known if known is not None or task.sql is not None else self.checked_input(cursor, task)
                create = exp.Create(this=table, kind="TABLE", replace=True, expression=self.sql.query(task, columns))
                cursor.execute(*_bound(create.sql(dialect="duckdb"), values))
                run.rows_out = self.count(cursor, task.name)
                return SUCCEEDED
            case t.Write():
                return self.write(cursor, task, run, values)
            case t.QualityCheck():
                return self.check(cursor, task, run, values)
            case t.RunSql():
                statements, reason = duckdb_statements(self.sql, task)
                if reason is not None:
                    run.detail = reason
                    return SKIPPED
                for statement in statements:
                    cursor.execute(*_bound(statement, values))
                run.detail = f"{len(statements)} statement{'s' if len(statements) != 1 else ''}"
                return SUCCEEDED
            case (t.Train() | t.SelectModel() | t.Score() | t.Container() | t.Script() | t.KubernetesResource()
                  | t.Notify() | t.Approval() | t.Wait()):
                raise AssertionError(f"`{task.name}` is not run here: {cannot_run(task)}")
            case _:
                assert_never(task)

    def write(self, cursor: duckdb.DuckDBPyConnection, task: t.Write, run: TaskRun, values: dict[str, Value]) -> str:
        """Write `task.input` into its target as its mode says."""
        task = self.fit_columns(cursor, task)
        cursor.execute("BEGIN TRANSACTION")  # a write that fails leaves the target as it was, or not made
        try:
            for statement in self.sql.write(task):
                written = cursor.execute(*_bound(statement, values)).fetchall()
        except duckdb.Error:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")
        run.rows_out = written[0][0]  # the last statement inserts the rows: DuckDB answers how many
        after = self.count(cursor, task.target)
        target = self.pipeline.dataset(task.target)
        assert target is not None
        self.local.written.add(f"{target.schema}.{target.table}")
        run.detail = f"{task.mode} into {target.schema}.{target.table} ({after} rows)"
        return SUCCEEDED

    def check(self, cursor: duckdb.DuckDBPyConnection, task: t.QualityCheck, run: TaskRun,
              values: dict[str, Value]) -> str:
        for check, query in self.sql.check_queries(task):
            text, bound = _bound(query.sql(dialect="duckdb"), values)
            (failures,) = cursor.execute(f"SELECT count(*) FROM ({text})", bound).fetchone() or (0,)
            outcome = CheckOutcome(f"sql {check.name}" if isinstance(check, t.CustomSqlCheck) else check_text(check),
                                   failures)
            if failures:
                sample = cursor.execute(f"SELECT * FROM ({text}) LIMIT {SAMPLE_ROWS}", bound)
                outcome.columns = tuple(d[0] for d in sample.description or ())
                outcome.sample = sample.fetchall()
            run.checks.append(outcome)
        failed = [c for c in run.checks if c.failures]
        run.rows_out = None
        run.detail = (f"{len(failed)} of {len(run.checks)} checks failed" if failed
                      else f"{len(run.checks)} checks passed")
        return SUCCEEDED if not failed else WARNED if task.severity == "warn" else FAILED

    def fit_columns(self, cursor: duckdb.DuckDBPyConnection, task: t.Write) -> t.Write:
        """`task`, once the target's columns fit the arriving rows as its `schema_change` policy says.

        ``fail`` refuses rows whose columns differ from the target's;
        ``append_new_columns`` adds the new ones; ``sync_all_columns`` also
        drops those that no longer arrive; ``ignore`` writes only the
        columns the target has.
        """
        if task.mode == "overwrite" and not task.partition_by or not self.exists(cursor, task.target):
            return task
        arriving, present = self.columns(cursor, task.input), self.columns(cursor, task.target)
        new = [name for name in arriving if name not in present]
        gone = [name for name in present if name not in arriving]
        if not new and not gone:
            return task
        target = self.sql.table(task.target).sql(dialect="duckdb")
        if task.schema_change == "fail":
            raise Refused(f"the columns differ from {target}'s (new: {', '.join(new) or 'none'}; missing: "
                          f"{', '.join(gone) or 'none'}); set on_schema_change to append_new_columns, "
                          "sync_all_columns or ignore")
        if task.schema_change == "ignore":
            narrowed = f"{task.input}__{task.name}"
            kept = ", ".join(_quote(name) for name in arriving if name in present)
            cursor.execute(f"CREATE OR REPLACE TABLE {self.sql.table(narrowed).sql(dialect='duckdb')} AS "
                           f"SELECT {kept} FROM {self.sql.table(task.input).sql(dialect='duckdb')}")
            return attrs.evolve(task, input=narrowed)
        for name in new:
            cursor.execute(f"ALTER TABLE {target} ADD COLUMN {_quote(name)} {arriving[name]}")
        for name in gone if task.schema_change == "sync_all_columns" else ():
            cursor.execute(f"ALTER TABLE {target} DROP COLUMN {_quote(name)}")
        return task

    def checked_input(self, cursor: duckdb.DuckDBPyConnection, task: t.Transform) -> tuple[Column, ...]:
        """The columns the input has now, through which the chain is checked as the verifier checks declared ones."""
        columns = relation_columns(cursor, self.sql.table(task.input or "").sql(dialect="duckdb"))
        problems: list[Diagnostic] = []
        ColumnFlow(self.pipeline, problems.append).through_chain(columns, task.steps, task.span)
        if problems:
            raise Refused(problems[0].brief())
        return columns

    def columns(self, cursor: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
        """Column name → DuckDB type of a relation, in order."""
        return describe(cursor, self.sql.table(relation).sql(dialect="duckdb"))

    def stand_in(self, relation: str) -> None:
        """Before `relation` is read: a target the run has not made is made from its file, or is unavailable."""
        dataset = self.pipeline.dataset(relation)
        if dataset is None or _table_key(dataset) not in self.local.made:
            return
        with self.local.lock:
            cursor = self.local.connection.cursor()
            try:
                if self.exists(cursor, relation):
                    return
                seed = next((b for b in self.local.bindings if b.seeds and b.table == _table_key(dataset)), None)
                if seed is None or seed.path is None:
                    self.unavailable[relation] = (f"`{_table_key(dataset)}` has not been written by this run and "
                                                  "DATA has no file for it")
                else:
                    self.local.seed(_table_key(dataset), seed.path, dataset.columns)
            finally:
                cursor.close()

    def count(self, cursor: duckdb.DuckDBPyConnection, relation: str) -> int:
        if relation in self.rows:
            return self.rows[relation]
        table = self.sql.table(relation).sql(dialect="duckdb")
        (rows,) = cursor.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
        if self.pipeline.dataset(relation) is not None and relation not in self.writers:
            self.rows[relation] = rows  # a source does not change during the run
        return int(rows)

    def exists(self, cursor: duckdb.DuckDBPyConnection, relation: str) -> bool:
        table = self.sql.table(relation)
        return table_exists(cursor, table.args["db"].name, table.name)

    def holds(self, condition: t.Condition) -> bool:
        if isinstance(condition, t.AllOf):
            return all(self.holds(c) for c in condition.conditions)
        if isinstance(condition, t.AnyOf):
            return any(self.holds(c) for c in condition.conditions)
        if isinstance(condition, t.Not):
            return not self.holds(condition.condition)
        if isinstance(condition, t.IsSet):
            return self.operand(condition.operand) is not None
        assert isinstance(condition, t.Compare)
        left = self.operand(condition.left)
        return left is not None and _compare(left, condition.op, condition.right)

    def operand(self, operand: t.ParamRef | t.TaskResult) -> Value:
        if isinstance(operand, t.ParamRef):
            return self.params.get(operand.name)
        return self.results.get(operand.task, {}).get(operand.field)


def _compare(left: Value, op: str, right: Value) -> bool:
    """`left op right`; values of kinds that do not compare are only unequal."""
    numbers = isinstance(left, (int, float)) and isinstance(right, (int, float))
    if not numbers and type(left) is not type(right):
        return op == "!="
    return bool(_OPERATORS[op](left, right))


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def cannot_run(task: t.AnyTask) -> str | None:
    """Why `task` does not run locally, or None when it does."""
    match task:
        case t.Ingest() | t.Transform() | t.Write() | t.QualityCheck() | t.RunSql():
            return None
        case t.Train():
            return f"training with {task.algorithm} runs on a cluster, not locally"
        case t.SelectModel():
            return "model selection needs trained models, which are not trained locally"
        case t.Score():
            return f"scoring with the model `{task.model_name}` runs on a cluster, not locally"
        case t.Container():
            return f"runs the container {task.image}, not locally"
        case t.Script():
            return "runs a script in a container, not locally"
        case t.KubernetesResource():
            return f"would {task.action} a Kubernetes resource"
        case t.Notify():
            return f"would notify {task.channel}"
        case t.Approval():
            return "an approval is not asked for locally"
        case t.Wait():
            return f"would wait {format_duration(task.seconds)}"
        case _:
            assert_never(task)


def read_file(connection: duckdb.DuckDBPyConnection, table: str, path: Path, declared: tuple[Column, ...],
              create: str) -> None:
    """`table` (``schema.table``) made by `create` (``CREATE OR REPLACE VIEW``, ``CREATE TABLE ...``) of the rows
    of the file at `path`, its `declared` columns cast to their types; a declared column the file lacks is E603."""
    schema, name = _quoted_parts(table)
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    read = files.reader(path.resolve()).sql(dialect="duckdb")
    present = describe(connection, read)
    missing = [c.name for c in declared if c.name not in present]
    if missing:
        raise UsageError([Diagnostic(
            code="E603", message=f"`{path}` has no column {', '.join(f'`{m}`' for m in missing)}",
            span=declared[0].span, help=f"its columns are: {', '.join(sorted(present))}")])
    casts = [f"CAST({_quote(c.name)} AS {files.duckdb_type(c.type)}) AS {_quote(c.name)}"
             for c in declared if c.type]
    select = f"SELECT * REPLACE ({', '.join(casts)})" if casts else "SELECT *"
    connection.execute(f"{create} {schema}.{name} AS {select} FROM {read}")


def local_sql(pipeline: Pipeline) -> TaskSql:
    """The DuckDB SQL of `pipeline`'s tasks, as a run makes it."""
    return TaskSql(pipeline, "duckdb", _work(pipeline).strip('"'))


def duckdb_statements(sql: TaskSql, task: t.RunSql) -> tuple[list[str], str | None]:
    """The statements of `task` in DuckDB's SQL, or none and why: Databricks SQL that DuckDB cannot run."""
    try:
        return sql.statements(task), None
    except LoweringError as error:
        if any(d.code != "E402" for d in error.diagnostics):
            raise
        return [], f"Databricks SQL DuckDB cannot run ({error.diagnostics[0].message.split(' in ')[0]})"


def describe(connection: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    """Column name → DuckDB type of what `source` (a table, or a table function call) holds, in order."""
    return {row[0]: row[1] for row in connection.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}


def relation_columns(connection: duckdb.DuckDBPyConnection, source: str) -> tuple[Column, ...]:
    """The columns of `source` as sparklec types them (a type sparklec has no name for is None)."""
    return tuple(Column(name=name, type=files.ir_type(kind)) for name, kind in describe(connection, source).items())


def table_exists(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether the database has the table (or view) `schema.table`."""
    row = connection.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND "
                             "table_name = ?", [schema, table]).fetchone()
    return bool(row and row[0])


def not_landed(ingest: t.Ingest) -> str:
    """Why an ingestion without a local file is skipped, and where its rows would be read from."""
    schema, table = landing_table(ingest)
    return (f"ingestion from {ingest.source_system or ingest.ingestor} does not run locally; "
            f"put its rows in DATA/{schema}/{table}.csv")


_SQL_PIECE = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
"""A string literal, a quoted name, or outside both a ``${name}`` or a ``$name`` (as SQL generation writes
``${name}``)."""


def _bound(text: str, values: Mapping[str, Value]) -> tuple[str, dict[str, object]]:
    """`text` and the parameters to execute it with: a ``${name}`` or ``$name`` of a loop variable or
    parameter becomes a bound parameter (never SQL text); inside a string literal or quoted name, ``${name}``
    becomes the value's text with the quotes doubled.  Names without a value are left as written."""
    bound: dict[str, Value] = {}

    def piece(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name is not None:
            if name not in values:
                return match.group(0)
            bound[name] = values[name]
            return f"${name}"
        quoted = match.group(0)
        return render(quoted, lambda ref: str(values[ref.name]).replace(quoted[0], quoted[0] * 2)
                      if ref.name in values else None)
    return _SQL_PIECE.sub(piece, text), {name: list(v) if isinstance(v, tuple) else v for name, v in bound.items()}


def _first_line(error: Exception) -> str:
    if isinstance(error, LoweringError):
        return error.diagnostics[0].message
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _work(pipeline: Pipeline) -> str:
    """The schema that holds what the pipeline's tasks produce during a run."""
    return _quote(f"sparklec_work_{pipeline.name}")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quoted_parts(table: str) -> list[str]:
    return [_quote(part.strip('"')) for part in table.split(".", 1)]


def declared_columns(pipeline: Pipeline, relation: str) -> tuple[Column, ...]:
    dataset = pipeline.dataset(relation)
    if dataset is not None:
        return dataset.columns
    task = next(s for s in t.walk(pipeline.steps) if s.name == relation)
    return task.columns if isinstance(task, t.Ingest) else ()


def _evolve_columns(pipeline: Pipeline, found: Mapping[str, tuple[Column, ...]]) -> Pipeline:
    """`pipeline` with the columns found in files given to the datasets and ingests that declared none."""
    datasets = tuple(attrs.evolve(d, columns=found[d.name]) if d.name in found else d for d in pipeline.datasets)

    def ingest(step: t.Step) -> t.Step:
        if isinstance(step, t.Ingest) and step.name in found:
            return attrs.evolve(step, columns=found[step.name])
        if isinstance(step, t.ForEach):
            return attrs.evolve(step, body=tuple(ingest(s) for s in step.body))
        if isinstance(step, t.Branch):
            return attrs.evolve(step, then=tuple(ingest(s) for s in step.then),
                                otherwise=tuple(ingest(s) for s in step.otherwise))
        return step
    return attrs.evolve(pipeline, datasets=datasets, steps=tuple(ingest(s) for s in pipeline.steps))


def pipeline_order(project: Project) -> list[Pipeline]:
    """Pipelines after those they depend on or read the targets of; ties in project order."""
    graph = nx.DiGraph()
    names = [p.name for p in project.pipelines]
    graph.add_nodes_from(names)
    writer_of = {_table_key(p.dataset(d)): p.name for p in project.pipelines  # type: ignore[arg-type]
                 for d in dataset_writers(p)}
    for pipeline in project.pipelines:
        for upstream in pipeline.depends_on:
            if upstream in names and upstream != pipeline.name:
                graph.add_edge(upstream, pipeline.name)
        for dataset in pipeline.datasets:
            writer = writer_of.get(_table_key(dataset))
            if writer is not None and writer != pipeline.name:
                graph.add_edge(writer, pipeline.name)
    by_name = {p.name: p for p in project.pipelines}
    try:
        order = list(nx.lexicographical_topological_sort(graph, key=names.index))
    except nx.NetworkXUnfeasible:
        order = names
    return [by_name[name] for name in order]

