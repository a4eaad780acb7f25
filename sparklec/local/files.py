"""Local files as tables: where a source's rows are found, how DuckDB reads them, what types they have."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from sqlglot import exp

SUFFIXES = (".parquet", ".csv", ".json", ".jsonl", ".ndjson")
"""The file formats a source can be bound to, in the order they are looked for."""

_READERS = {".parquet": "read_parquet", ".csv": "read_csv", ".json": "read_json_auto", ".jsonl": "read_json_auto",
            ".ndjson": "read_json_auto"}

_TYPES = {
    "VARCHAR": "string", "BIGINT": "bigint", "HUGEINT": "bigint", "UBIGINT": "bigint", "INTEGER": "int",
    "UINTEGER": "bigint", "SMALLINT": "smallint", "USMALLINT": "int", "TINYINT": "tinyint", "UTINYINT": "smallint",
    "DOUBLE": "double", "FLOAT": "float", "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp", "TIMESTAMP_NS": "timestamp", "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_S": "timestamp", "BLOB": "binary",
}


def candidates(data: Path, parts: Sequence[str]) -> list[Path]:
    """Where the rows of a table named by `parts` (catalog, schema, table) may be under `data`.

    The longest qualified path comes first: ``data/catalog/schema/table.csv``,
    then ``data/schema/table.csv``, then ``data/table.csv``; each in every
    format of `SUFFIXES`.
    """
    parts = [p for p in parts if p]
    folders = [Path(*parts[:-1][i:]) for i in range(len(parts) - 1)] + [Path()]
    return [data / folder / f"{parts[-1]}{suffix}" for folder in folders for suffix in SUFFIXES]


def find(data: Path | None, parts: Sequence[str]) -> Path | None:
    """The first existing file among the `candidates`, if any."""
    if data is None:
        return None
    return next((path for path in candidates(data, parts) if path.is_file()), None)


def reader(path: Path) -> exp.Expr:
    """The DuckDB table function call that reads `path` (CSV with a header row)."""
    function = _READERS.get(path.suffix.lower(), "read_csv")
    arguments: list[exp.Expr] = [exp.Literal.string(str(path))]
    if function == "read_csv":
        arguments.append(exp.EQ(this=exp.column("header"), expression=exp.true()))
    return exp.Anonymous(this=function, expressions=arguments)


def ir_type(duckdb_type: str) -> str | None:
    """The sparklec column type of a DuckDB column type (None when sparklec has no name for it)."""
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", duckdb_type)
    if decimal:
        return f"decimal({decimal.group(1)},{decimal.group(2)})"
    return _TYPES.get(duckdb_type)


def duckdb_type(ir_type: str) -> str:
    """The DuckDB spelling of a sparklec column type (``string`` → ``TEXT``, ``decimal(18,2)`` → ``DECIMAL(18, 2)``).

    A ``timestamp`` is DuckDB's TIMESTAMP: wall-clock time, as local files hold it.
    """
    if ir_type == "timestamp":
        return "TIMESTAMP"
    return exp.DataType.build(ir_type, dialect="databricks").sql(dialect="duckdb")
