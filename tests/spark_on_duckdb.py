"""Spark and Databricks SQL run on DuckDB, for the stand-ins of the warehouses the orchestrators call.

sqlglot writes each statement for DuckDB; what DuckDB has no statement for is done the way Spark does it
with Delta tables: `INSERT OVERWRITE TABLE t` deletes the table's rows and inserts, and with
``partitionOverwriteMode = dynamic`` and a `PARTITION (...)` clause only the rows of the partitions that
arrive; `assert_true` raises as Spark's does.  Table formats and partitioning (`USING DELTA`,
`PARTITIONED BY`) have no meaning on DuckDB and are dropped, and so are catalogs: Unity Catalog's
`main.silver.customers` is `silver.customers` in DuckDB's one database, as `sparklec run` names it.
"""

from __future__ import annotations

import logging

import duckdb
import sqlglot
from sqlglot import exp

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "unsupported property": the table formats dropped


class SparkOnDuckDB:
    """Statements in a Spark dialect, run on `connection`; `ran` holds them in order."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, dialect: str = "spark"):
        self.connection = connection
        self.dialect = dialect
        self.dynamic_partitions = False
        self.ran: list[str] = []
        connection.execute("CREATE OR REPLACE MACRO assert_true(condition, message) AS "
                           "CASE WHEN condition THEN NULL ELSE error(message) END")

    def execute(self, statement: str) -> None:
        """Run one statement (a DuckDB error is raised as it is)."""
        self.ran.append(statement)
        tree = sqlglot.parse_one(statement, read=self.dialect)
        if isinstance(tree, exp.Set):
            self.dynamic_partitions = "partitionoverwritemode = dynamic" in statement.lower().replace("'", "")
            return
        for table in tree.find_all(exp.Table):
            table.set("catalog", None)
        for translated in self.translated(tree):
            self.connection.execute(translated)

    def translated(self, tree: exp.Expr) -> list[str]:
        if not (isinstance(tree, exp.Insert) and tree.args.get("overwrite")):
            return [tree.sql(dialect="duckdb")]
        table = tree.this.copy()
        partition = table.args.get("partition")
        table.set("partition", None)
        rows = tree.expression
        insert = exp.Insert(this=table.copy(), expression=rows.copy())
        if partition is None or not self.dynamic_partitions:
            return [f"DELETE FROM {table.sql(dialect='duckdb')}", insert.sql(dialect="duckdb")]
        columns = ", ".join(c.sql(dialect="duckdb") for c in partition.expressions)
        arriving = f"SELECT DISTINCT {columns} FROM ({rows.sql(dialect='duckdb')})"
        return [f"DELETE FROM {table.sql(dialect='duckdb')} WHERE ({columns}) IN ({arriving})",
                insert.sql(dialect="duckdb")]
