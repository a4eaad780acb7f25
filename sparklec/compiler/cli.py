"""The `sparklec` command line.

    sparklec FILE... --backend NAME [-o DIR]   compile for a target
    sparklec FILE... --emit ir                 print the verified IR as JSON
    sparklec check FILE...                     verify only
    sparklec graph FILE... --format dot|mermaid
    sparklec fmt FILE.spk... [--check]         format .spk files in place
    sparklec convert CONFIG... [-o FILE.spk]   Sparkle configs to .spk
    sparklec run FILE... --data DIR            run on local files with DuckDB

Exit codes: 0 success, 1 compile errors, 2 usage errors.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from sparklec import ENVS, __version__
from sparklec.diagnostics import (
    Diagnostic, FrontendError, LoweringError, OutputError, SourceCache, SparklecError, UsageError, did_you_mean,
    os_error, raise_if_errors, render,
)

if TYPE_CHECKING:
    from sparklec.ir.pipeline import Project

COMMANDS = ("check", "graph", "fmt", "convert", "run")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are diagnostics (E500, exit 2), printed like every other."""

    def error(self, message: str) -> NoReturn:
        raise UsageError([Diagnostic(code="E500", message=message, help=self.format_usage().strip())])


class _Reporter:
    """Prints diagnostics and status lines to stderr; with ``--diagnostics-format json`` it prints nothing but
    one JSON array of every diagnostic, when the command ends."""

    def __init__(self, fmt: str):
        self.fmt = fmt
        self.held: list[Diagnostic] = []

    def __call__(self, diagnostics: Sequence[Diagnostic]) -> None:
        if self.fmt == "json":
            self.held.extend(diagnostics)
        elif diagnostics:
            print(render(diagnostics, "text", SourceCache()), file=sys.stderr)

    def status(self, line: str) -> None:
        if self.fmt != "json":
            print(line, file=sys.stderr)

    def close(self) -> None:
        if self.fmt == "json":
            print(render(self.held, "json", SourceCache()), file=sys.stderr)


def _force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="write even where sparklec refuses to: into a folder it did not write, over files "
                             "changed since it wrote them")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help=".spk files, Sparkle configs (.json, .yaml) or directories of them")
    parser.add_argument("--env", choices=ENVS, help="the environment to compile for")
    parser.add_argument("--diagnostics-format", choices=("text", "json"), default="text",
                        help="how errors and warnings are printed (default: text)")


def _compile_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sparklec",
        description="Compile data pipelines for dbt, AWS Step Functions and Argo Workflows.",
        epilog="other commands: check, graph, fmt, convert, run (see `sparklec COMMAND --help`)",
    )
    parser.add_argument("--version", action="version", version=f"sparklec {__version__}")
    parser.add_argument("--list-backends", action="store_true", help="list the available backends and exit")
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE",
                        help=".spk files, Sparkle configs (.json, .yaml) or directories of them")
    parser.add_argument("--backend", "-b", metavar="NAME", help="the target to compile for")
    parser.add_argument("-o", "--output", type=Path, metavar="DIR", help="output directory (default: out/<backend>)")
    _force(parser)
    parser.add_argument("--option", "-O", action="append", default=[], metavar="KEY=VALUE",
                        help="a backend option; repeatable")
    parser.add_argument("--emit", choices=("ir", "plan"),
                        help="print the verified, optimised IR, or (with --backend) the execution plan, as JSON "
                             "instead")
    parser.add_argument("--print-ir-after", metavar="PASS",
                        help="print the IR (JSON, to stderr) after the named pass, or `all`")
    parser.add_argument("--env", choices=ENVS, help="the environment to compile for")
    parser.add_argument("--diagnostics-format", choices=("text", "json"), default="text",
                        help="how errors and warnings are printed (default: text)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The `sparklec` command.  It runs on a deep stack; Ctrl-C stops it (exit 130)."""
    from sparklec.compiler.stack import on_deep_stack

    try:
        return on_deep_stack(lambda: _main(argv))
    except KeyboardInterrupt:
        return 130


def _main(argv: Sequence[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # sparklec reports SQL it cannot handle itself
    fmt = "json" if "--diagnostics-format=json" in args or _follows(args, "--diagnostics-format", "json") else "text"
    report = _Reporter(fmt)
    try:
        if args and args[0] in COMMANDS:
            return _subcommand(args, report)
        return _compile(args, report)
    except SparklecError as error:
        report(error.diagnostics)
        return 2 if isinstance(error, UsageError) else 1
    except BrokenPipeError:  # the reader of stdout went away, as `| head` does: nothing is left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:
        report([os_error(error, "use")])
        return 1
    finally:
        report.close()


def _follows(args: list[str], flag: str, value: str) -> bool:
    return any(a == flag and b == value for a, b in zip(args, args[1:], strict=False))


def _subcommand(args: list[str], report: _Reporter) -> int:
    from sparklec.compiler import driver

    command = args[0]
    parser = _Parser(prog=f"sparklec {command}")
    _common(parser)
    if command == "graph":
        parser.add_argument("--format", choices=("dot", "mermaid"), default="mermaid")
    if command == "fmt":
        parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is not formatted")
    if command == "convert":
        parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the .spk here (default: stdout)")
        _force(parser)
    if command == "run":
        _run_arguments(parser)
    options = parser.parse_args(args[1:])
    if command == "fmt":
        return _fmt(options.files, options.check, report)
    if command == "run":
        _check_run_paths(options)
    project, warnings = driver.load(options.files, env=options.env)
    report(warnings)
    if command == "run":
        return _run(project, options, report)
    if command == "check":
        raise_if_errors(driver.check_sql(project), LoweringError)
        count = len(project.pipelines)
        report.status(f"ok: {count} pipeline{'s' if count != 1 else ''} verified")
        return 0
    if command == "convert":
        from sparklec.frontends.dsl import print_project

        text = print_project(project)
        if options.output is None:
            sys.stdout.write(text)
        else:
            _write_converted(options.output, text, options.files, options.force)
            report.status(f"wrote {options.output}")
        return 0
    from sparklec.compiler.picture import render_graph

    sys.stdout.write(render_graph(project, options.format))
    return 0


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Run the pipelines on local files with embedded DuckDB."
    parser.add_argument("--data", type=Path, metavar="DIR",
                        help="where source rows are: DIR/<schema>/<table>.csv|.parquet|.json (or DIR/<table>.*)")
    parser.add_argument("--bind", action="append", default=[], metavar="NAME=PATH",
                        help="read a source dataset (or an ingest task's rows) from PATH; repeatable")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a pipeline parameter; repeatable (lists: a,b,c)")
    parser.add_argument("--db", type=Path, metavar="FILE",
                        help="a DuckDB file to write targets into (kept: a second run writes incrementally)")
    parser.add_argument("-o", "--output", type=Path, metavar="DIR",
                        help="where targets are written as Parquet without --db (default: out/run)")
    _force(parser)
    parser.add_argument("--dry-run", action="store_true", help="print what would run, and run nothing")
    parser.add_argument("--load-sources", action="store_true",
                        help="only make the source tables in --db from --data (what a dbt project's local "
                             "profile reads), and run nothing")


def _check_run_paths(options: argparse.Namespace) -> None:
    """`--data` is a folder, `--db` is not one and `--bind` paths are files (E605–E607), before anything is
    read."""
    problems = []
    data: Path | None = options.data
    if data is not None and not data.is_dir():
        siblings = [p.name for p in data.parent.iterdir() if p.is_dir()] if data.parent.is_dir() else []
        guess = did_you_mean(data.name, siblings)
        problems.append(Diagnostic(
            code="E605", message=f"--data `{data}` " + ("is a file, not a folder" if data.exists() else
                                                         "does not exist"),
            help=f"{guess + ' ' if guess else ''}give the folder that holds the source files"))
    if options.db is not None and options.db.is_dir():
        problems.append(Diagnostic(code="E606", message=f"--db `{options.db}` is a folder, not a DuckDB file",
                                   help="give a file name, such as `--db local.duckdb` (it is created if missing)"))
    for name, path in _options(options.bind, "--bind").items():
        if not Path(path).is_file():
            problems.append(Diagnostic(
                code="E607", message=f"--bind {name}=`{path}` " + ("is a folder, not a file" if Path(path).is_dir()
                                                                   else "does not exist"),
                help="give the file of the rows: .csv (with a header row), .parquet, .json or .jsonl"))
    if problems:
        raise FrontendError(problems)


def _run(project: Project, options: argparse.Namespace, report: _Reporter) -> int:
    """`sparklec run`: exit 1 when a task or an error-severity check fails."""
    from rich.console import Console
    from rich.markup import escape

    from sparklec import local
    from sparklec.compiler import driver
    from sparklec.local.report import live_progress, plan, summary

    binds = {key: Path(value) for key, value in _options(options.bind, "--bind").items()}
    params = _options(options.param, "--param")
    project = driver.optimise(project)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)  # piped: no 80-column cut
    if options.load_sources:
        if options.db is None:
            raise UsageError([Diagnostic(code="E505", message="--load-sources needs --db FILE",
                                         help="e.g. --db out/dbt/local.duckdb, the file of the dbt project's profile")])
        made, notes = local.load_sources(project, data=options.data, bind=binds, database=options.db)
        report(notes)
        for table in made:
            console.print(f"loaded {escape(table)}", highlight=False)
        return 0
    if options.dry_run:
        found, notes = local.bindings(project, options.data, binds, options.db)
        report(notes)
        plan(console, project, found)
        return 0
    inputs = [*options.files, *([options.data] if options.data else []), *binds.values(),
              *([options.db] if options.db else [])]
    output = local.Output(options.output or Path("out") / "run", inputs=tuple(inputs), force=options.force)
    with live_progress(Console(stderr=True, quiet=report.fmt == "json", soft_wrap=True)) as listener:
        result = local.run_project(project, data=options.data, bind=binds, params=params, database=options.db,
                                   output=output, listener=listener)
    report(result.notes)
    summary(console, result.tasks, result.written)
    return 1 if result.failed else 0


def _fmt(files: list[Path], check: bool, report: _Reporter) -> int:
    """Format `.spk` files in place, or (`check`) report those that are not formatted."""
    from sparklec.frontends.dsl import format_text

    unformatted, problems = [], []
    for file in files:
        if file.suffix != ".spk":
            raise UsageError([Diagnostic(code="E501", message=f"`{file}` is not a .spk file",
                                         help="use `sparklec convert` for Sparkle configs")])
        try:
            text = file.read_text(encoding="utf-8")
            formatted = format_text(text, str(file))
        except (OSError, UnicodeDecodeError) as error:
            problems.append(Diagnostic(code="E501", message=f"cannot read `{file}`: {error}"))
            continue
        except SparklecError as error:
            problems.extend(error.diagnostics)
            continue
        if formatted != text:
            unformatted.append(file)
            if not check:
                _replace_file(file, formatted)
    report(problems)
    for file in unformatted:
        report.status(f"{'would reformat' if check else 'reformatted'} {file}")
    if problems or (check and unformatted):
        return 1
    return 0


def _write_converted(path: Path, text: str, inputs: Sequence[Path], force: bool) -> None:
    """`convert -o FILE`: an input is never overwritten, nor another existing file without `force`."""
    if path.is_dir() or path.is_symlink():
        raise OutputError([Diagnostic(code="E510", message=f"will not write the .spk to `{path}`: it is a "
                                      + ("folder" if path.is_dir() else "symbolic link"),
                                      help="give a file name, such as `-o project.spk`")])
    if path.exists():
        if any(path.resolve() == Path(i).resolve() for i in inputs):
            raise OutputError([Diagnostic(code="E510", message=f"will not overwrite the input `{path}`",
                                          help="give another file with -o")])
        if not force and path.read_bytes() != text.encode("utf-8"):
            raise OutputError([Diagnostic(code="E511", message=f"will not overwrite `{path}`: the file exists",
                                          help="give another file with -o, or add --force to replace it")])
    _replace_file(path, text)


def _replace_file(path: Path, text: str) -> None:
    """Write `path` whole or not at all."""
    import tempfile

    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.sparklec-new-", dir=path.parent or ".")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as error:
        raise OutputError([os_error(error, "write")]) from None


def _options(pairs: list[str], flag: str = "--option") -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError([Diagnostic(code="E505", message=f"{flag} `{pair}` is not KEY=VALUE",
                                         help=f"write e.g. {flag} name=value")])
        options[key] = value
    return options


def _compile(args: list[str], report: _Reporter) -> int:
    parser = _compile_parser()
    options = parser.parse_args(args)
    if options.list_backends:
        from sparklec.backends import available

        for name, origin in available().items():
            print(f"{name}\t{origin}")
        return 0
    if not options.files:
        parser.error("give one or more pipeline files")
    first = options.files[0]
    if not first.exists() and first.suffix == "" and str(first).replace("-", "").isalpha():
        parser.error(f"`{first}` is not a command: the commands are {', '.join(COMMANDS)}; to compile, write "
                     "`sparklec FILE... --backend NAME`")
    if not options.backend and not options.emit:
        parser.error("choose a target with --backend NAME (see --list-backends) or print the IR with --emit ir")
    backend_options = _options(options.option)
    from sparklec.backends import get_backend
    from sparklec.compiler import driver
    from sparklec.ir.serialize import to_json

    if options.backend:
        get_backend(options.backend)  # an unknown name fails before any work
    passes = driver.pass_names(options.backend)
    if options.print_ir_after not in (None, "all", *passes):
        parser.error(f"there is no pass `{options.print_ir_after}`: give one of {', '.join(passes)}, or `all`")
    project, warnings = driver.load(options.files, env=options.env)
    report(warnings)

    def after_pass(name: str, ir: object) -> None:
        if options.print_ir_after in (name, "all"):
            print(f"// IR after {name}", file=sys.stderr)
            sys.stderr.write(to_json(ir))

    project = driver.optimise(project, after_pass)
    if options.emit == "ir":
        sys.stdout.write(to_json(project))
        return 0
    if options.emit == "plan":
        if not options.backend:
            parser.error("--emit plan needs --backend NAME: a plan is of a target")
        artifacts = driver.lower(project, options.backend, backend_options, after_pass, emit_plan=True)
        report(artifacts.notes)
        sys.stdout.write(artifacts["plan.json"])
        return 0
    from sparklec.compiler.output import write_atomically

    artifacts = driver.lower(project, options.backend, backend_options, after_pass)
    report(getattr(artifacts, "notes", []))
    output = options.output or Path("out") / options.backend
    written = write_atomically(artifacts, output, inputs=options.files, force=options.force,
                               command=f"sparklec --backend {options.backend}")
    report.status(f"wrote {len(written)} files to {output}")
    return 0
