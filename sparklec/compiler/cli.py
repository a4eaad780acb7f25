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
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sparklec import ENVS, __version__
from sparklec.compiler.diagnostics import (
    Diagnostic, SourceCache, SparklecError, UsageError, render,
)

if TYPE_CHECKING:
    from sparklec.ir.pipeline import Project

COMMANDS = ("check", "graph", "fmt", "convert", "run")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help=".spk files, Sparkle configs (.json, .yaml) or directories of them")
    parser.add_argument("--env", choices=ENVS, help="the environment to compile for")
    parser.add_argument("--diagnostics-format", choices=("text", "json"), default="text",
                        help="how errors and warnings are printed (default: text)")


def _compile_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    parser.add_argument("--option", "-O", action="append", default=[], metavar="KEY=VALUE",
                        help="a backend option; repeatable")
    parser.add_argument("--emit", choices=("ir",), help="print the verified, optimised IR as JSON instead")
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
    try:
        if args and args[0] in COMMANDS:
            return _subcommand(args)
        return _compile(args)
    except SparklecError as error:
        _report(error.diagnostics, fmt)
        return 2 if isinstance(error, UsageError) else 1
    except KeyboardInterrupt:
        return 130


def _follows(args: list[str], flag: str, value: str) -> bool:
    return any(a == flag and b == value for a, b in zip(args, args[1:], strict=False))


def _report(diagnostics: Sequence[Diagnostic], fmt: str) -> None:
    if diagnostics:
        print(render(diagnostics, fmt, SourceCache()), file=sys.stderr)


def _subcommand(args: list[str]) -> int:
    from sparklec.compiler.driver import load

    command = args[0]
    parser = argparse.ArgumentParser(prog=f"sparklec {command}")
    _common(parser)
    if command == "graph":
        parser.add_argument("--format", choices=("dot", "mermaid"), default="mermaid")
    if command == "fmt":
        parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is not formatted")
    if command == "convert":
        parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the .spk here (default: stdout)")
    if command == "run":
        _run_arguments(parser)
    options = parser.parse_args(args[1:])
    if command == "fmt":
        return _fmt(options.files, options.check, options.diagnostics_format)
    project, warnings = load(options.files, env=options.env)
    _report(warnings, options.diagnostics_format)
    if command == "run":
        return _run(project, options)
    if command == "check":
        count = len(project.pipelines)
        print(f"ok: {count} pipeline{'s' if count != 1 else ''} verified", file=sys.stderr)
        return 0
    if command == "convert":
        from sparklec.frontends.dsl import print_project

        text = print_project(project)
        if options.output is None:
            sys.stdout.write(text)
        else:
            _replace_file(options.output, text)
            print(f"wrote {options.output}", file=sys.stderr)
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
    parser.add_argument("--dry-run", action="store_true", help="print what would run, and run nothing")


def _run(project: Project, options: argparse.Namespace) -> int:
    """`sparklec run`: exit 1 when a task or an error-severity check fails."""
    from rich.console import Console

    from sparklec import local
    from sparklec.compiler import driver
    from sparklec.local.report import live_progress, plan, summary

    binds = {key: Path(value) for key, value in _options(options.bind, "--bind").items()}
    params = _options(options.param, "--param")
    project = driver.optimise(project)
    console = Console(highlight=False)
    if options.dry_run:
        found, notes = local.bindings(project, options.data, binds, options.db)
        _report(notes, options.diagnostics_format)
        plan(console, project, found)
        return 0
    with live_progress(Console(stderr=True)) as listener:
        result = local.run_project(project, data=options.data, bind=binds, params=params, database=options.db,
                                   output=options.output or Path("out") / "run", listener=listener)
    _report(result.notes, options.diagnostics_format)
    summary(console, result.tasks, result.written)
    return 1 if result.failed else 0


def _fmt(files: list[Path], check: bool, fmt: str) -> int:
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
        except OSError as error:
            problems.append(Diagnostic(code="E501", message=f"cannot read `{file}`: {error}"))
            continue
        except SparklecError as error:
            problems.extend(error.diagnostics)
            continue
        if formatted != text:
            unformatted.append(file)
            if not check:
                _replace_file(file, formatted)
    _report(problems, fmt)
    for file in unformatted:
        print(f"{'would reformat' if check else 'reformatted'} {file}", file=sys.stderr)
    if problems or (check and unformatted):
        return 1
    return 0


def _replace_file(path: Path, text: str) -> None:
    """Write `path` whole or not at all."""
    import os
    import tempfile

    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _options(pairs: list[str], flag: str = "--option") -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError([Diagnostic(code="E505", message=f"{flag} `{pair}` is not KEY=VALUE",
                                         help=f"write e.g. {flag} name=value")])
        options[key] = value
    return options


def _compile(args: list[str]) -> int:
    parser = _compile_parser()
    options = parser.parse_args(args)
    if options.list_backends:
        from sparklec.backends import available

        for name, origin in available().items():
            print(f"{name}\t{origin}")
        return 0
    if not options.files:
        parser.error("give one or more pipeline files")
    if not options.backend and not options.emit:
        parser.error("choose a target with --backend NAME (see --list-backends) or print the IR with --emit ir")
    backend_options = _options(options.option)
    from sparklec.backends import get_backend
    from sparklec.compiler import driver
    from sparklec.ir.serialize import to_json

    if options.backend:
        get_backend(options.backend)  # an unknown name fails before any work
    project, warnings = driver.load(options.files, env=options.env)
    _report(warnings, options.diagnostics_format)

    def after_pass(name: str, ir: object) -> None:
        if options.print_ir_after in (name, "all"):
            print(f"// IR after {name}", file=sys.stderr)
            sys.stderr.write(to_json(ir))

    project = driver.optimise(project, after_pass)
    if options.emit == "ir":
        sys.stdout.write(to_json(project))
        return 0
    from sparklec.compiler.output import write_atomically

    artifacts = driver.lower(project, options.backend, backend_options)
    _report(getattr(artifacts, "notes", []), options.diagnostics_format)
    output = options.output or Path("out") / options.backend
    written = write_atomically(artifacts, output)
    print(f"wrote {len(written)} files to {output}", file=sys.stderr)
    return 0
