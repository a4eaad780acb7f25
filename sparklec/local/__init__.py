"""`sparklec run`: a pipeline executed on embedded DuckDB, on local files, before it is deployed anywhere.

Transform, write, check and SQL tasks run as the DuckDB dialect of the SQL
every backend shares (`sparklec.sql`), so a pipeline that runs here runs the
same logic in dbt, Step Functions and Argo.  See `sparklec.local.engine`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import attrs
import duckdb

from sparklec.diagnostics import Diagnostic, FrontendError, UsageError
from sparklec.compiler.output import write_atomically
from sparklec.ir.pipeline import Project
from sparklec.local import engine
from sparklec.local.engine import FAILED, Binding, Listener, LocalRun, TaskRun, parse_params, table_exists

__all__ = ["Binding", "Output", "RunResult", "TaskRun", "bindings", "load_sources", "run_project"]


@attrs.frozen
class Output:
    """Where a run without a database writes its targets as Parquet: `folder` (a sparklec output folder, see
    `sparklec.compiler.output`), made from `inputs`; `force` writes into a folder sparklec would refuse."""

    folder: Path
    inputs: tuple[Path, ...] = ()
    force: bool = False


@attrs.define
class RunResult:
    """Every task's outcome, in the order they ended, and the Parquet files written."""

    tasks: list[TaskRun]
    written: list[Path]
    notes: list[Diagnostic]
    """Warnings, such as sources without rows."""

    @property
    def failed(self) -> bool:
        """Whether a task or an error-severity check failed."""
        return any(task.status == FAILED for task in self.tasks)


def bindings(project: Project, data: Path | None, explicit: Mapping[str, Path],
             database: Path | None = None) -> tuple[list[Binding], list[Diagnostic]]:
    """Where every source and ingested relation is read from, with warnings for sources found nowhere.

    Raises `UsageError` for a `--bind` that names nothing."""
    connection = _connect(database, read_only=True) if database is not None and database.exists() \
        else duckdb.connect()
    try:
        return _bind(project, data, explicit, connection)
    finally:
        connection.close()


def run_project(project: Project, *, data: Path | None = None, bind: Mapping[str, Path] | None = None,
                params: Mapping[str, str] | None = None, database: Path | None = None,
                output: Output | None = None, listener: Listener | None = None, workers: int = 4) -> RunResult:
    """Run `project` on DuckDB — in `database` (a file, kept) or in memory — with sources from `data`.

    Without a database, the targets written are exported as Parquet under
    `output` (``<schema>/<table>.parquet``; tables the run did not write stay
    as they were).  Raises `UsageError` for sources without rows, unknown
    parameters, files that lack declared columns and target names that are
    no safe file names, `OutputError` when the output cannot be written;
    failed tasks are reported in the result, not raised.
    """
    values = parse_params(project, params or {})
    exported = engine.export_paths(project) if output is not None and database is None else None
    connection = _connect(database) if database else duckdb.connect()
    try:
        found, notes = _bind(project, data, bind or {}, connection)
        try:
            local = LocalRun(project, connection, found, values, listener, workers)
        except duckdb.Error as error:
            raise UsageError([Diagnostic(code="E603", message=f"cannot read the data: {str(error).splitlines()[0]}",
                                         help="check the files under --data and those given with --bind")]) from None
        with tempfile.TemporaryDirectory(prefix="sparklec-run-") as scratch:
            _confine(connection, [data, Path(scratch)], [b.path for b in found if b.path is not None],
                     database)
            tasks = local.run()
            exports = local.exports(exported, Path(scratch).resolve()) if exported is not None else {}
            written = write_atomically(exports, output.folder, inputs=output.inputs, force=output.force,
                                       replace=False, command="sparklec run") if exports and output else []
        return RunResult(tasks, written, notes)
    finally:
        connection.close()


def load_sources(project: Project, *, data: Path | None, bind: Mapping[str, Path] | None = None,
                 database: Path) -> tuple[list[str], list[Diagnostic]]:
    """Make in `database` a table of the rows of every source found in `data` or `bind` — each dataset nobody
    in the project writes, and each ingested relation (as ``landing_<system>.<table>``) — and run nothing:
    the tables a dbt project's `local` profile reads.  The tables made (``schema.table``) and the warnings."""
    connection = _connect(database)
    try:
        found, notes = _bind(project, data, bind or {}, connection)
        made: list[str] = []
        for binding in found:
            if binding.path is None or binding.seeds or binding.table in made:
                continue
            pipeline = next(p for p in project.pipelines if p.name == binding.pipeline)
            try:
                engine.read_file(connection, binding.table, binding.path,
                                 engine.declared_columns(pipeline, binding.relation), "CREATE OR REPLACE TABLE")
            except duckdb.Error as error:
                raise UsageError([Diagnostic(code="E603", message=f"cannot read `{binding.path}`: "
                                             f"{str(error).splitlines()[0]}")]) from None
            made.append(binding.table)
        return made, notes
    finally:
        connection.close()


def _confine(connection: duckdb.DuckDBPyConnection, folders: list[Path | None], files: list[Path],
             database: Path | None) -> None:
    """Let the pipelines' SQL read and write no file but those under `folders`, the `files` bound to sources
    and the database: DuckDB's external access is turned off, and its configuration locked."""
    allowed = [f"{Path(f).resolve()}/" for f in folders if f is not None]
    paths = [str(Path(f).resolve()) for f in files]
    if database is not None:
        paths += [str(database.resolve()), f"{database.resolve()}.wal"]
    connection.execute("SET allowed_directories = ?", [allowed])
    connection.execute("SET allowed_paths = ?", [paths])
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")


def _connect(database: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The DuckDB database in the file `database`; one that cannot be opened is an error (E606)."""
    try:
        return duckdb.connect(str(database), read_only=read_only)
    except duckdb.Error as error:
        reason = str(error).splitlines()[0].removeprefix("IO Error: ")
        raise FrontendError([Diagnostic(code="E606", message=f"cannot open --db `{database}`: {reason}",
                                        help="give a DuckDB file, or the name of one to create in a folder you "
                                             "may write to")]) from None


def _bind(project: Project, data: Path | None, explicit: Mapping[str, Path],
          connection: duckdb.DuckDBPyConnection) -> tuple[list[Binding], list[Diagnostic]]:
    """`engine.bind` against the tables of `connection`: the bindings and the warnings; errors are raised."""
    found, problems = engine.bind(project, data, explicit, partial(table_exists, connection))
    if any(p.is_error for p in problems):
        raise UsageError(problems)
    return found, problems
