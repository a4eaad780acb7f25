"""The SQL statements of transform, write, check and SQL tasks, for orchestrators that run SQL themselves.

Relations become tables: a dataset is its ``schema.table``; what a task
produces (a transform's view, an ingested or scored table) lives in the
pipeline's work database under the task's name, unless the transform is
inlined into the statements that read it.  Each step first creates the
schemas it writes into, and a write creates its target when it is missing:
on Spark a Delta table (MERGE INTO needs one off Databricks too), on DuckDB
a table of the arriving columns.  On Athena, `overwrite` deletes then
inserts and `merge` deletes the rows whose keys arrive then inserts them, so
targets written that way must be Iceberg tables, which need a location:
they are created before the first run (Athena has no INSERT OVERWRITE and
deletes only from Iceberg).  Spark writes with INSERT OVERWRITE (of the
arriving partitions, when the write names `partition_by`) and MERGE INTO;
DuckDB, for local runs, deletes and inserts by column name.  A merge first
fails when the arriving rows hold a key twice, which the two ways of
merging would write differently.  A write of a chain that ends in
`scd_type2` keeps a type-2 history, whatever its mode
(`sparklec.sql.history`).
"""

from __future__ import annotations

import json
import re
from functools import partial
from collections.abc import Callable, Mapping

import attrs
import sqlglot
from typing_extensions import assert_never
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from sparklec.diagnostics import Diagnostic, LoweringError
from sparklec.ir import tasks as t
from sparklec.ir.columns import ColumnFlow
from sparklec.ir.graph import relation_readers
from sparklec.ir.pipeline import Pipeline, Project
from sparklec.ir.policy import SQL_KINDS
from sparklec.ir.transformers import CustomOp, ScdType2, Schema
from sparklec.ir.serialize import to_data
from sparklec.sql import DIALECTS, Relation, chain_steps
from sparklec.sql.checks import failing_rows
from sparklec.sql.history import aliased, close_changed, open_versions
from sparklec.sql.ops import RELATION, column, identifier, parse_custom
from sparklec.sql.user_sql import parse_query, syntax_error

_INLINED_PREFIX = "__sparklec_inlined_"
_INLINED = _INLINED_PREFIX + "{}__"
_INLINED_PATTERN = re.compile(_INLINED_PREFIX + r"\d+__")
SPARK = ("databricks", "spark")
"""The dialects of Spark: Databricks SQL, and Apache Spark's (Glue, EMR, `spark-sql`)."""
_DATA_SQL = (exp.Query, exp.Insert, exp.Delete, exp.Update, exp.Merge, exp.Create, exp.Drop)
"""Statements about data, which DuckDB runs; the others administer a warehouse (grants, properties, statistics)."""
"""The task kinds whose work is SQL statements."""


def plain_identifier(text: str) -> str:
    """`text` as a lower-case identifier that needs no quotes: other characters become ``_``."""
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in text.lower()).strip("_")
    return cleaned if cleaned and not cleaned[0].isdigit() else f"m_{cleaned}"


def landing_table(ingest: t.Ingest) -> tuple[str, str]:
    """(schema, table) where an extract-and-load tool lands what `ingest` extracts: ``landing_<system>``
    and the last part of the source's name."""
    table = ingest.source.rsplit(".", 1)[-1].rsplit("/", 1)[-1]
    return f"landing_{plain_identifier(ingest.source_system or ingest.ingestor)}", plain_identifier(table)


MAX_INLINE_DEPTH = 8
"""How deep transforms are inlined into one another; a deeper one gets a view, so the SQL of a long chain
neither nests without bound nor repeats the chain's start in every statement."""


def inlinable_transforms(pipeline: Pipeline, runs_sql_here: Callable[[t.AnyTask], bool]) -> dict[str, t.Transform]:
    """Transforms that need no view, by name: they run SQL where all their readers do, no exposure or
    condition names them, and fewer than `MAX_INLINE_DEPTH` inlined transforms lie under them.  Such a
    transform is no step of its own: it runs inside the statements of its readers."""
    readers = relation_readers(pipeline)
    named = {name for exposure in pipeline.exposures for name in exposure.depends_on}
    named.update(result.task for step in t.walk(pipeline.steps) if isinstance(step, t.Branch)
                 for result in t.condition_results(step.condition))
    candidates = {task.name: task for task in t.walk(pipeline.steps)
                  if isinstance(task, t.Transform) and task.name not in named and runs_sql_here(task)
                  and readers.get(task.name) and all(runs_sql_here(r) for r in readers[task.name])}
    depth: dict[str, int] = {}
    """Transform → how many inlined transforms its query nests, itself included (0: it gets a view)."""
    for name in candidates:
        pending = [name]
        while pending:
            current = pending[-1]
            below = [r for r in candidates[current].reads() if r in candidates]
            if any(r not in depth for r in below):
                pending.extend(r for r in below if r not in depth)
                continue
            pending.pop()
            nested = 1 + max((depth[r] for r in below), default=0)
            depth[current] = nested if nested <= MAX_INLINE_DEPTH else 0
    return {name: candidates[name] for name, nested in depth.items() if nested}


class TaskSql:
    """SQL text for the tasks of one pipeline in `dialect`: ``databricks`` (Spark SQL), ``athena`` or ``duckdb``.

    Transforms in `inlined` have no view: the statements that read them
    hold their query as a subquery, whose CTEs are named after the
    transform (``<transform>__source``, ...) so that no two CTEs of a
    statement share a name, however deep the subqueries nest (Spark
    rejects a nested CTE named like an outer one).  Each inlined query is
    written once and pasted into every statement that reads it.
    """

    def __init__(self, pipeline: Pipeline, dialect: str, work_database: str,
                 inlined: Mapping[str, t.Transform] | None = None):
        self.pipeline = pipeline
        self.dialect = dialect
        self.work_database = work_database
        self.inlined = inlined or {}
        self.columns = ColumnFlow(pipeline, lambda diagnostic: None)
        self.custom = {c.name: c for c in pipeline.custom_transformers}
        self._placeholders = {name: _INLINED.format(index) for index, name in enumerate(sorted(self.inlined))}
        self._by_placeholder = {placeholder: name for name, placeholder in self._placeholders.items()}
        self._inlined_sql: dict[str, str] = {}
        self._statements: dict[str, list[str]] = {}

    def table(self, relation: str) -> exp.Table:
        """The table or view that holds `relation`; for an inlined transform, a placeholder that `text`
        replaces with its query."""
        if relation in self.inlined:
            return exp.Table(this=exp.to_identifier(self._placeholders[relation]),
                             alias=exp.TableAlias(this=identifier(relation)))
        dataset = self.pipeline.dataset(relation)
        if dataset is not None:
            return exp.Table(this=identifier(dataset.table), db=identifier(dataset.schema),
                             catalog=identifier(dataset.catalog) if dataset.catalog and self.dialect == "databricks"
                             else None)
        return exp.Table(this=identifier(relation), db=identifier(self.work_database))

    def text(self, expression: exp.Expr) -> str:
        """The SQL of `expression`, with the query of each inlined transform it reads in place."""
        sql = expression.sql(dialect=self.dialect, copy=False)
        if self._placeholders and _INLINED_PREFIX in sql:
            sql = _INLINED_PATTERN.sub(lambda match: self._inlined_query(self._by_placeholder[match.group(0)]), sql)
        return sql

    def _inlined_query(self, relation: str) -> str:
        if relation not in self._inlined_sql:
            query = self.query(self.inlined[relation], prefix=f"{relation}__")
            self._inlined_sql[relation] = f"({self.text(query)})"
        return self._inlined_sql[relation]

    def transform(self, task: t.Transform) -> list[str]:
        """CREATE OR REPLACE VIEW of the task's relation, in a schema created when missing."""
        view = exp.Create(this=self.table(task.name), kind="VIEW", replace=True, expression=self.query(task))
        return [self.create_schema(view.this), self.text(view)]

    def create_schema(self, table: exp.Table) -> str:
        """CREATE SCHEMA IF NOT EXISTS of the schema that holds `table`."""
        catalog = table.args.get("catalog")
        schema = exp.Table(db=table.args["db"].copy(), catalog=catalog.copy() if catalog else None)
        return self.text(exp.Create(this=schema, kind="SCHEMA", exists=True))

    def query(self, task: t.Transform, input_columns: Schema | None = None, prefix: str = "") -> exp.Query:
        """The SELECT of a transform: its SQL or its input, through its chain (a CTE per step, each named with
        `prefix`).

        `input_columns` are the input's columns when the caller knows them better than the declarations."""
        if task.sql is not None:
            read: exp.Query = self.user_query(task.sql, f"the SQL of `{task.name}`", task)
            if not task.steps:
                return read
        else:
            assert task.input is not None
            read = exp.select(exp.Star()).from_(self.table(task.input), copy=False)
        source = Relation(f"{prefix}source", input_columns or self.columns.input_schema(task))
        steps = chain_steps(source, task.steps, DIALECTS[self.dialect], self.custom, prefix=prefix)
        query = exp.select(exp.Star()).from_(identifier(steps[-1].name if steps else source.name), copy=False).with_(
            identifier(source.name), as_=read, copy=False)
        for step in steps:
            query = query.with_(identifier(step.name), as_=step.query, copy=False)
        return self.resolved(query, [name for op in task.steps for name, _ in op.relations_read()])

    def user_query(self, sql: str, what: str, task: t.AnyTask) -> exp.Query:
        query = parse_query(t.SQL_REFERENCE.sub(lambda m: RELATION.format(m.group(1)), sql), what, task.span)
        return self.resolved(query, t.SQL_REFERENCE.findall(sql))

    def resolved(self, query: exp.Query, names: list[str]) -> exp.Query:
        """`query` with each relation named by its placeholder made the table it is here."""
        tables = {RELATION.format(n): self.table(n) for n in names}

        def resolve(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Table) and node.name in tables and not node.args.get("db"):
                table = tables[node.name].copy()
                if node.alias:
                    table.set("alias", exp.TableAlias(this=identifier(node.alias)))
                return table
            return node
        return query.transform(resolve)  # type: ignore[return-value]

    def write(self, task: t.Write) -> list[str]:
        """The statements that write `task.input` into its target.

        With a `watermark`, every mode but `overwrite` takes only the rows
        newer than the target's newest; `incremental` merges them when there
        is a `unique_key`; `overwrite` with `partition_by` replaces only the
        partitions that arrive.  The target's schema, and on Spark and DuckDB the
        target itself, are created when missing.
        """
        target, source = self.table(task.target), self.table(task.input)
        arriving: exp.Table | exp.Subquery = source
        if task.mode != "overwrite" and task.watermark:
            newest = exp.select(exp.Max(this=column(task.watermark))).from_(target.copy()).subquery()
            arriving = exp.select(exp.Star()).from_(source.copy()).where(exp.or_(
                exp.GT(this=column(task.watermark), expression=newest),
                exp.Is(this=newest.copy(), expression=exp.Null()))).subquery(identifier("s"))
        replaces_table = task.mode == "overwrite" and not task.partition_by
        statements = [self.create_schema(target)]
        if self.dialect in SPARK or (self.dialect == "duckdb" and not replaces_table):
            statements.append(self.create_table(task, target, source))
        history = self.history(task)
        if history is not None:
            return statements + [self.text(close_changed(history, self.tracked(task, history), target, arriving)),
                                 self.text(open_versions(history, target, arriving, self.dialect == "duckdb"))]
        if task.mode == "merge" or (task.mode == "incremental" and task.unique_key):
            return statements + [self.keys_once(task, arriving)] + self.merge(task.unique_key, target, arriving)
        insert = exp.Insert(this=target.copy(), expression=exp.select(exp.Star()).from_(arriving.copy()),
                            by_name=self.dialect == "duckdb")
        if task.mode != "overwrite":
            return statements + [self.text(insert)]
        if self.dialect == "duckdb" and replaces_table:
            return statements + [self.text(exp.Create(this=target.copy(), kind="TABLE", replace=True,
                                                      expression=exp.select(exp.Star()).from_(source.copy())))]
        if self.dialect in SPARK:
            into = f"INSERT INTO {self.text(target)}"
            if not task.partition_by:
                return statements + [self.text(insert).replace(into, f"INSERT OVERWRITE TABLE {self.text(target)}", 1)]
            partitions = ", ".join(self.text(identifier(c)) for c in task.partition_by)
            return statements + ["SET spark.sql.sources.partitionOverwriteMode = dynamic", self.text(insert).replace(
                into, f"INSERT OVERWRITE TABLE {self.text(target)} PARTITION ({partitions})", 1)]
        delete = (self.delete_matching(task.partition_by, target, source) if task.partition_by
                  else exp.Delete(this=target.copy()))
        return statements + [self.text(delete), self.text(insert)]

    def history(self, task: t.Write) -> ScdType2 | None:
        """The type-2 history `task` keeps: the `scd_type2` that ends the chain of the transform it writes."""
        written = next((s for s in t.walk(self.pipeline.steps) if isinstance(s, t.Transform) and s.name == task.input),
                       None)
        last = written.steps[-1] if written is not None and written.steps else None
        return last if isinstance(last, ScdType2) else None

    def tracked(self, task: t.Write, history: ScdType2) -> tuple[str, ...]:
        """The columns whose change opens a new version: `compare_columns`, else every column but the key's and
        the history's own."""
        if history.compare_columns:
            return history.compare_columns
        columns = self.columns.schema(task.input)
        if columns is None:
            raise LoweringError([Diagnostic(
                code="E402", span=history.span or task.span,
                message=f"`{task.input}` keeps a type-2 history of every column, and its columns are not known",
                help="list the columns whose changes make a new version (`compare_columns`), or declare the "
                     "columns of the source")])
        kept = {*history.business_key, history.effective_from, history.effective_to, history.current_flag}
        return tuple(c.name for c in columns if c.name not in kept)

    def create_table(self, task: t.Write, target: exp.Table, source: exp.Table) -> str:
        """CREATE TABLE IF NOT EXISTS `target` with the columns of `source` and no rows: on Spark a Delta table,
        partitioned as the write says."""
        properties = None
        if self.dialect in SPARK:
            properties = exp.Properties(expressions=[exp.FileFormatProperty(this=exp.var("DELTA"))] + (
                [exp.PartitionedByProperty(this=exp.Schema(expressions=[identifier(c) for c in task.partition_by]))]
                if task.partition_by else []))
        empty = exp.select(exp.Star()).from_(source.copy()).limit(0)
        return self.text(exp.Create(this=target.copy(), kind="TABLE", exists=True, expression=empty,
                                    properties=properties))

    def keys_once(self, task: t.Write, arriving: exp.Table | exp.Subquery) -> str:
        """One statement that fails when two arriving rows hold the same `unique_key` (NULLs match nothing):
        rows a merge could not write the same way everywhere (Delta's MERGE updates each target row its key
        matches, or fails; deleting the keys that arrive, then inserting, keeps one)."""
        keys = [column(k) for k in task.unique_key]
        repeated = (exp.select(*keys).from_(arriving.copy()).where(exp.and_(*(exp.Not(this=exp.Is(
            this=k.copy(), expression=exp.Null())) for k in keys))).group_by(*(k.copy() for k in keys))
            .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1))))
        failing = self.raising(exp.Count(this=exp.Star()), f"{task.name}: the rows to merge hold a value of "
                                                           f"{', '.join(task.unique_key)} more than once")
        return self.text(exp.select(exp.alias_(failing, "repeated")).from_(repeated.subquery("repeated_keys")))

    def raising(self, count: exp.Expr, message: str) -> exp.Expr:
        """`count`, failing the statement with `message` when it is above zero (Spark's `assert_true`, Trino's
        `fail`, DuckDB's `error`)."""
        text = exp.Literal.string(message)
        if self.dialect in SPARK:
            return exp.func("assert_true", exp.EQ(this=count, expression=exp.Literal.number(0)), text)
        return exp.Case(ifs=[exp.If(this=exp.GT(this=count, expression=exp.Literal.number(0)), true=exp.func(
            "fail" if self.dialect == "athena" else "error", text))], default=count.copy())

    def merge(self, keys: tuple[str, ...], target: exp.Table | exp.Subquery, source: exp.Table | exp.Subquery
              ) -> list[str]:
        """Spark: MERGE INTO.  Athena and DuckDB: delete the rows whose keys arrive, then insert them."""
        if self.dialect in SPARK:
            merge = sqlglot.parse_one("MERGE INTO t USING s ON TRUE WHEN MATCHED THEN UPDATE SET * "
                                      "WHEN NOT MATCHED THEN INSERT *", read="databricks")
            merge.set("this", aliased(target, "t"))
            merge.set("using", aliased(source, "s"))
            merge.set("on", exp.and_(*(exp.EQ(this=exp.column(k, "t"), expression=exp.column(k, "s")) for k in keys)))
            return [self.text(merge)]
        insert = exp.Insert(this=target.copy(), expression=exp.select(exp.Star()).from_(source.copy()),
                            by_name=self.dialect == "duckdb")
        return [self.text(self.delete_matching(keys, target, source)), self.text(insert)]

    def delete_matching(self, columns: tuple[str, ...], target: exp.Table | exp.Subquery,
                        source: exp.Table | exp.Subquery) -> exp.Delete:
        """DELETE the rows of `target` whose `columns` hold values that arrive in `source`."""
        assert isinstance(target, exp.Table)
        if len(columns) == 1 or self.dialect == "duckdb":
            arriving = exp.select(*(column(c) for c in columns)).distinct().from_(source.copy())
            this = column(columns[0]) if len(columns) == 1 else exp.Tuple(expressions=[column(c) for c in columns])
            return exp.Delete(this=target.copy(), where=exp.Where(this=exp.In(this=this, query=arriving.subquery())))
        # Trino compares one column with a subquery, so: EXISTS, correlated on the target's name
        pairs = (exp.EQ(this=exp.Column(this=identifier(c), table=identifier("s")),
                        expression=exp.Column(this=identifier(c), table=target.this.copy())) for c in columns)
        exists = exp.Exists(this=exp.select(exp.Literal.number(1)).from_(aliased(source, "s")).where(exp.and_(*pairs)))
        return exp.Delete(this=target.copy(), where=exp.Where(this=exists))

    def check_queries(self, task: t.QualityCheck) -> list[tuple[t.AnyCheck, exp.Query]]:
        """Each check of `task` with the query returning its failing rows."""
        table = self.table(task.input)
        queries: list[tuple[t.AnyCheck, exp.Query]] = []
        for check in task.checks:
            if isinstance(check, t.Relationships):
                parent = exp.select(column(check.field)).from_(self.table(check.to))
                query: exp.Query = exp.select(exp.Star()).from_(table.copy()).where(exp.and_(
                    exp.Not(this=exp.Is(this=column(check.column), expression=exp.Null())),
                    exp.Not(this=exp.In(this=column(check.column), query=parent.subquery()))))
            elif isinstance(check, t.CustomSqlCheck):
                query = self.user_query(re.sub(r"\{\{\s*input\s*\}\}", "{{ " + task.input + " }}", check.sql),
                                        f"check `{check.name}`", task)
            else:
                query = failing_rows(check, table.copy())
            queries.append((check, query))
        return queries

    def failures(self, task: t.QualityCheck) -> str:
        """One row, one column `failures`: how many rows fail the task's checks in all."""
        return self.text(self.counting(task))

    def counting(self, task: t.QualityCheck) -> exp.Select:
        """The query of `failures`."""
        counts = [exp.select(exp.Count(this=exp.Star())).from_(query.subquery()).subquery()
                  for _, query in self.check_queries(task)]
        total: exp.Expr = counts[0]
        for count in counts[1:]:
            total = exp.Add(this=total, expression=count)
        return exp.select(exp.alias_(total, "failures"))

    def enforced(self, task: t.QualityCheck) -> str:
        """One statement that fails when rows fail the checks of `task` and its severity is ``error`` (Spark's
        `assert_true`, Trino's `fail`), else counts them as `failures`: a job or pod that runs it fails with it."""
        if task.severity == "warn" or self.dialect not in (*SPARK, "athena"):
            return self.failures(task)
        failing = self.raising(exp.column("failures"), f"{task.name}: rows fail the checks")
        return self.text(exp.select(exp.alias_(failing, "failures")).from_(self.counting(task).subquery("counted")))

    def statements(self, task: t.RunSql) -> list[str]:
        """The task's statements, each transpiled from Spark SQL; Spark-only statements are Spark's to run."""
        result = []
        for statement in task.statements:
            statement = t.SQL_REFERENCE.sub(lambda match: self.text(self.table(match.group(1))), statement)
            try:
                tree = sqlglot.parse_one(statement, read="databricks")
            except (ParseError, TokenError) as error:
                raise LoweringError([Diagnostic(
                    code="E403", message=f"a statement of `{task.name}` is not valid SQL: "
                                         f"{syntax_error(error, statement)}",
                    span=task.span, help=f"the SQL is: {statement}")]) from None
            spark_only = isinstance(tree, exp.Command) or self.dialect == "duckdb" and not isinstance(tree, _DATA_SQL)
            if spark_only and self.dialect not in SPARK:
                raise LoweringError([Diagnostic(
                    code="E402", message=f"`{statement[:60]}` in `{task.name}` is Databricks SQL that "
                                         f"{'DuckDB' if self.dialect == 'duckdb' else self.dialect.capitalize()} "
                                         "cannot run", span=task.span, help="run the task on `runtime databricks`")])
            result.append(statement if isinstance(tree, exp.Command) else self.text(tree))
        return result

    def task_statements(self, task: t.AnyTask) -> list[str]:
        """The statements of a transform, write or SQL task; for a check, the query counting failing rows."""
        if task.name not in self._statements:
            match task:
                case t.Transform():
                    statements = self.transform(task)
                case t.Write():
                    statements = self.write(task)
                case t.RunSql():
                    statements = self.statements(task)
                case t.QualityCheck():
                    statements = [self.failures(task)]
                case (t.Ingest() | t.Train() | t.SelectModel() | t.Score() | t.Notify() | t.Container() | t.Script()
                      | t.KubernetesResource() | t.Approval() | t.Wait()):
                    raise AssertionError(f"`{task.name}` is no SQL task")
                case _:
                    assert_never(task)
            self._statements[task.name] = statements
        return self._statements[task.name]

    def job_arguments(self, task: t.AnyTask) -> dict[str, str]:
        """What a job that runs `task` elsewhere receives: its kind, its SQL dialect (`databricks` or Apache
        `spark`), the task as sparklec IR JSON (`spec`),
        the tables it reads (`input`, `input_2`, ...) and makes (`target`), the user transformers it names
        (`custom`: name → SQL) and, for SQL tasks whose columns are known well enough, the SQL to run (`sql`,
        its statements separated by ``;``; for a check, the one statement that fails when rows fail).
        `sparklec-job` (`sparklec.job`) runs it, making the SQL as it runs when there is none.  Worked
        examples stay behind: they are tests."""
        spec = attrs.evolve(task, examples=()) if isinstance(task, t.Transform) else task
        arguments = {"task": t.kind_name(task), "dialect": self.dialect,
                     "spec": json.dumps(to_data(spec), sort_keys=True)}
        for index, relation in enumerate(task.reads()):
            arguments["input" if index == 0 else f"input_{index + 1}"] = self.text(self.table(relation))
        if task.produces_relation or isinstance(task, t.Write):
            arguments["target"] = self.text(self.table(task.target if isinstance(task, t.Write) else task.name))
        named = {op.transformer for op in task.steps if isinstance(op, CustomOp)} if isinstance(task, t.Transform) \
            else set()
        if named:
            arguments["custom"] = json.dumps({name: self.custom[name].sql for name in sorted(named)
                                              if name in self.custom}, sort_keys=True)
        if t.kind_name(task) in SQL_KINDS:
            try:
                arguments["sql"] = (self.enforced(task) if isinstance(task, t.QualityCheck)
                                    else "; ".join(self.task_statements(task)))
            except LoweringError as error:
                if any(d.code != "E402" for d in error.diagnostics):
                    raise
        return arguments


def sql_problems(project: Project) -> list[Diagnostic]:
    """The errors that generating the SQL of every task meets, each once (SQL no target can run aside)."""
    problems: list[Diagnostic] = []

    def attempt(generate: Callable[[], object]) -> None:
        try:
            generate()
        except LoweringError as error:
            problems.extend(d for d in error.diagnostics if d.code != "E402" and d not in problems)

    for pipeline in project.pipelines:
        for declared in pipeline.custom_transformers:
            attempt(partial(parse_custom, declared))
        sql = TaskSql(pipeline, "databricks", "sparklec_check")
        for task in t.walk((*pipeline.steps, *pipeline.on_failure)):
            if isinstance(task, t.Task) and t.kind_name(task) in SQL_KINDS:
                attempt(partial(sql.task_statements, task))
    return problems
