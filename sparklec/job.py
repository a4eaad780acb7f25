"""`sparklec-job`: one task of a pipeline, run in the Spark session of the job that runs it.

A step on Databricks, Glue or EMR Serverless starts a job with the task's arguments (see
`TaskSql.job_arguments`): its kind, its SQL ``dialect``, the task as IR JSON (``spec``), the tables it reads (``input``,
``input_2``, ...) and makes (``target``), the user transformers it names (``custom``) and, when the
columns were known at compile time, its SQL (``sql``).  This command runs that SQL statement by
statement.  Without it, it first reads the columns of the tables the task reads from the session's
catalog and makes the task's Spark SQL as the compiler would have, with those columns known::

    sparklec-job --task transform --spec '{...}' --input bronze.customers --target etl.clean

A check whose rows fail raises in its statement, so the job, and the step, fail.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlglot import exp
from sqlglot import TokenType
from sqlglot.dialects import Dialect

from sparklec.diagnostics import Diagnostic
from sparklec.ir import tasks as t
from sparklec.ir.columns import ColumnFlow
from sparklec.ir.pipeline import CustomTransformer, Dataset, Pipeline
from sparklec.ir.serialize import from_json
from sparklec.ir.values import Column, normalize_type
from sparklec.sql.dialects import DEFAULT_DIALECT, DIALECTS
from sparklec.ir.policy import SQL_KINDS
from sparklec.sql.tasks import TaskSql

Columns = Callable[[str], tuple[Column, ...]]
"""A table's columns, as the session's catalog has them."""


def arguments(argv: Sequence[str]) -> dict[str, str]:
    """``--key value`` and ``--key=value`` pairs (Glue and EMR pass the first, Databricks' named parameters the
    second)."""
    found: dict[str, str] = {}
    items = list(argv)
    while items:
        item = items.pop(0)
        if not item.startswith("--"):
            raise SystemExit(f"sparklec-job: `{item}` is no --key; give each argument as --key value")
        key, equals, value = item[2:].partition("=")
        if not equals:
            if not items:
                raise SystemExit(f"sparklec-job: --{key} has no value")
            value = items.pop(0)
        found[key] = value
    return found


def statements(given: Mapping[str, str], columns: Columns) -> list[str]:
    """The statements that run the task: its ``sql``, else its SQL made over the columns `columns` reads."""
    given = {key: value for key, value in given.items() if value}  # a job parameter no run gave is empty
    if "sql" in given:
        return split(given["sql"])
    dialect = given.get("dialect", DEFAULT_DIALECT)
    if dialect not in DIALECTS:
        raise SystemExit(f"sparklec-job: --dialect is one of {', '.join(DIALECTS)}, not `{dialect}`")
    task = from_json(_required(given, "spec"))
    if t.kind_name(task) not in SQL_KINDS:
        raise SystemExit(f"sparklec-job runs transforms, writes, checks and SQL tasks; `{task.name}` is a "
                         f"{t.kind_name(task).replace('_', ' ')} task, which needs a job of your own")
    keys = ["input", *(f"input_{index}" for index in range(2, len(task.reads()) + 1))]
    datasets = [_dataset(relation, _required(given, key), columns(given[key]))
                for relation, key in zip(task.reads(), keys, strict=True)]
    target = exp.to_table(given["target"], dialect="spark") if "target" in given else None
    if isinstance(task, t.Write) and target is not None:
        datasets.append(_dataset(task.target, given["target"], ()))
    custom = tuple(CustomTransformer(name=name, sql=sql) for name, sql in json.loads(given.get("custom", "{}")).items())
    pipeline = Pipeline(name=target.db if target is not None and target.db else "sparklec", env="prod",
                        isolation="none", datasets=tuple(datasets), custom_transformers=custom, steps=(task,))
    if isinstance(task, t.Transform):  # checked over the columns it meets, as `sparklec run` checks them
        problems: list[Diagnostic] = []
        ColumnFlow(pipeline, problems.append).schema(task.name)
        if problems:
            raise SystemExit(f"sparklec-job: {task.name}: {problems[0].brief()}")
    sql = TaskSql(pipeline, dialect, pipeline.name)
    if isinstance(task, t.QualityCheck):
        return [sql.enforced(task)]
    return sql.task_statements(task)


def _required(given: Mapping[str, str], key: str) -> str:
    if key not in given:
        raise SystemExit(f"sparklec-job: --{key} is missing (give the job the arguments its step passes)")
    return given[key]


def split(sql: str) -> list[str]:
    """The statements of `sql`, split at the semicolons outside strings and comments."""
    pieces, start = [], 0
    tokens = Dialect.get_or_raise("databricks").tokenize(sql)
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            pieces.append(sql[start:token.start].strip())
            start = token.end + 1
    pieces.append(sql[start:].strip())
    return [piece for piece in pieces if piece]


def _dataset(name: str, table: str, columns: tuple[Column, ...]) -> Dataset:
    parts = exp.to_table(table, dialect="spark")
    return Dataset(name=name, catalog=parts.catalog or None, schema=parts.db, table=parts.name, columns=columns)


def session_columns(session: Any) -> Columns:
    """The columns of a table in a Spark session's catalog (none when it does not exist)."""

    def columns(table: str) -> tuple[Column, ...]:
        if not session.catalog.tableExists(table):
            return ()
        return tuple(Column(name=field.name, type=normalize_type(field.dataType.simpleString()))
                     for field in session.table(table).schema.fields)

    return columns


def main(argv: Sequence[str] | None = None, session: Any = None) -> int:
    """Run the task the arguments describe in `session` (by default, the job's active Spark session)."""
    given = arguments(sys.argv[1:] if argv is None else argv)
    if session is None:
        from pyspark.sql import SparkSession

        session = SparkSession.builder.getOrCreate()
    for statement in statements(given, session_columns(session)):
        print(f"sparklec-job: {statement[:200]}", flush=True)
        session.sql(statement).collect()
    return 0
