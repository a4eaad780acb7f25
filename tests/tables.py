"""Comparing the tables two runs leave: the same rows, but for the columns that hold the time of the run."""

from __future__ import annotations

import datetime
from collections import Counter
from decimal import Decimal
from typing import Any

import duckdb

OWN_COLUMNS = ("_dbt_loaded_at", "_dbt_invocation_id")
"""Columns a target adds of its own (dbt's load columns)."""


def same_tables(ours: duckdb.DuckDBPyConnection, theirs: duckdb.DuckDBPyConnection, table: str) -> None:
    """Every column of `table` in `ours` holds in `theirs` what it holds in `ours` (numbers compared as numbers);
    a column holding the time of the run is compared by whether it is set. `theirs` may have columns of its own."""
    of_now = tuple(c for c in columns(ours, table) if holds_now(ours, table, c))
    kept = [c for c in columns(ours, table) if c not in of_now]
    assert set(kept) <= set(columns(theirs, table)), table
    mine, their = rows(ours, table, kept, of_now), rows(theirs, table, kept, of_now)
    assert mine == their, (f"{table} ({', '.join(kept + [f'{c} is set' for c in of_now])}): only ours "
                           f"{sorted(map(str, mine - their))[:5]}, only theirs {sorted(map(str, their - mine))[:5]}")


def columns(connection: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [c[0] for c in connection.execute(f"DESCRIBE {table}").fetchall() if c[0] not in OWN_COLUMNS]


def rows(connection: duckdb.DuckDBPyConnection, table: str, names: list[str], of_now: tuple[str, ...] = ()
         ) -> Counter[tuple[Any, ...]]:
    """The table's rows over `names` and, of the `of_now` columns, whether they are set; numbers as floats."""
    selected = [f'"{c}"' for c in names] + [f'"{c}" IS NULL' for c in of_now]
    found = connection.execute(f"SELECT {', '.join(selected)} FROM {table}").fetchall()
    return Counter(tuple(float(v) if isinstance(v, (Decimal, int)) and not isinstance(v, bool) else v for v in row)
                   for row in found)


def holds_now(connection: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Whether the column holds the time of the run (audit and load columns), which no two runs share."""
    values = [r[0] for r in connection.execute(f'SELECT DISTINCT "{column}" FROM {table} WHERE "{column}" IS NOT NULL'
                                               ).fetchall()]
    now = datetime.datetime.now()
    return bool(values) and all(
        isinstance(v, datetime.date) and abs((now - (v if isinstance(v, datetime.datetime) else
                                                     datetime.datetime.combine(v, datetime.time()))
                                              .replace(tzinfo=None)).days) < 2 for v in values)
