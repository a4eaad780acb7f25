"""What the command line and the Python API do with output folders, filesystem errors and wrong command lines.

Every case runs in a folder of its own and asserts the exit code, the
diagnostic code, that no traceback is printed, and that every file that was
there before is still there byte for byte (symbolic links included).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ROOT
from sparklec import Pipeline, SparklecError, UsageError
from sparklec.compiler import output, swap
from sparklec.compiler.cli import main
from sparklec.diagnostics import OutputError
from sparklec.compiler.output import MANIFEST, check_name, write_atomically

PIPELINE = """pipeline orders_daily {
  source orders = main.bronze.orders { columns { id: bigint, amount: double } }
  target clean = main.silver.orders_clean
  task tidy = from orders | filter_by_condition(condition: "amount > 0")
  task save = write tidy into clean
}
"""
ORDERS = "id,amount\n1,10.5\n2,-1\n3,7\n"
IS_ROOT = os.geteuid() == 0
HAS_SETPRIV = shutil.which("setpriv") is not None
RESTRICT = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"] if IS_ROOT else []
"""Runs a command without root's power to ignore file permissions."""


def _compiled(folder: str, backend: str = "dbt") -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        assert main(["p.spk", "--backend", backend, "-o", folder]) == 0
    return setup


def _files(folder: str, files: dict[str, str]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        for path, text in files.items():
            (root / folder / path).parent.mkdir(parents=True, exist_ok=True)
            (root / folder / path).write_text(text)
    return setup


def _steps(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        for step in steps:
            step(root)
    return setup


def _edit(path: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        with open(root / path, "a") as handle:
            handle.write("-- my change\n")
    return setup


def _unlisted(folder: str, path: str) -> Callable[[Path], None]:
    """`path`, generated in `folder`, is dropped from the manifest: it is now a file sparklec did not write."""
    def setup(root: Path) -> None:
        manifest = json.loads((root / folder / MANIFEST).read_text())
        del manifest["files"][path]
        (root / folder / MANIFEST).write_text(json.dumps(manifest))
    return setup


def _symlink(link: str, target: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        (root / target).mkdir(exist_ok=True)
        (root / target / "precious.txt").write_text("keep me")
        os.symlink(root / target, root / link)
    return setup


def _mount(folder: str, options: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        (root / folder).mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(root / folder)], check=True)
    return setup


def _nearly_full(folder: str) -> Callable[[Path], None]:
    """A 1 MB filesystem at `folder` with 8 KB left."""
    def setup(root: Path) -> None:
        _mount(folder, "size=1m")(root)
        free = shutil.disk_usage(root / folder).free
        (root / folder / "filler").write_bytes(b"x" * (free - 8192))
    return setup


def _read_only(folder: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        (root / folder).mkdir(exist_ok=True)
        (root / folder).chmod(0o555)
    return setup


def _nothing(root: Path) -> None:
    return None


@attrs.frozen
class Case:
    """`sparklec ARGS` in a folder holding `p.spk` and `data/bronze/orders.csv`, after `setup`."""

    name: str
    args: tuple[str, ...]
    code: int
    diagnostic: str | None
    setup: Callable[[Path], None] = _nothing
    cwd: str = "."
    needs_root: bool = False
    restricted: bool = False
    """Run without the power to ignore file permissions (as root: dropped capabilities)."""
    changes: tuple[str, ...] = ()
    """Files the case may change or remove (under --force)."""


def _case(name: str, *args: str, code: int = 1, diagnostic: str | None, **options: object) -> object:
    case = Case(name, args, code, diagnostic, **options)  # type: ignore[arg-type]
    marks = []
    if case.needs_root and not IS_ROOT:
        marks.append(pytest.mark.skip(reason="mounting a filesystem needs root"))
    if case.restricted and IS_ROOT and not HAS_SETPRIV:
        marks.append(pytest.mark.skip(reason="root ignores permissions, and setpriv is missing to drop that"))
    return pytest.param(case, id=name, marks=marks)


DBT = ("p.spk", "--backend", "dbt")
CASES = [
    # -o folders that are never replaced
    _case("the current folder", *DBT, "-o", ".", diagnostic="E510"),
    _case("an empty -o", *DBT, "-o", "", diagnostic="E510"),
    _case("a folder holding the current one", "../p.spk", "--backend", "dbt", "-o", "..", diagnostic="E510",
          cwd="sub", setup=_files("sub", {"x": ""})),
    _case("a folder holding an input", "in/p.spk", "--backend", "dbt", "-o", "in", diagnostic="E510",
          setup=_files("in", {"p.spk": PIPELINE})),
    _case("the home folder", *DBT, "-o", "home", diagnostic="E510", setup=_files("home", {".bashrc": "x"})),
    _case("a filesystem root", *DBT, "-o", "/", diagnostic="E510"),
    _case("a symbolic link", *DBT, "-o", "link", diagnostic="E510", setup=_symlink("link", "elsewhere")),
    _case("a mount point", *DBT, "-o", "mnt", diagnostic="E510", setup=_mount("mnt", "size=1m"), needs_root=True),
    # -o folders that are refused unless --force
    _case("a folder of other outputs", *DBT, "-o", "out", diagnostic="E511",
          setup=_steps(_compiled("out/argo", "argo"), _compiled("out/stepfunctions", "stepfunctions"))),
    _case("a folder of the user's", *DBT, "-o", "mine", diagnostic="E511", setup=_files("mine", {"notes.md": "x"})),
    _case("an existing file", *DBT, "-o", "afile", diagnostic="E511", setup=_files(".", {"afile": "data"})),
    _case("a generated file changed since", *DBT, "-o", "out", diagnostic="E512",
          setup=_steps(_compiled("out"), _edit("out/dbt_project.yml"))),
    _case("a user's file where a new one goes", *DBT, "-o", "out", diagnostic="E512",
          setup=_steps(_compiled("out"), _unlisted("out", "dbt_project.yml"))),
    _case("--force writes into a user's folder", *DBT, "-o", "mine", "--force", code=0, diagnostic=None,
          setup=_files("mine", {"notes.md": "x"})),
    _case("--force overwrites a changed file", *DBT, "-o", "out", "--force", code=0, diagnostic=None,
          setup=_steps(_compiled("out"), _edit("out/dbt_project.yml")), changes=("out/dbt_project.yml",)),
    # what is kept, and names no user folder has
    _case("a user's file in an output folder is kept", *DBT, "-o", "out", code=0, diagnostic=None,
          setup=_steps(_compiled("out"), _files("out", {"notes.md": "mine", "target/run.json": "{}"}))),
    _case("a user's .out.previous", *DBT, "-o", "out", code=0, diagnostic=None,
          setup=_steps(_compiled("out"), _files(".out.previous", {"keep.txt": "x"}))),
    _case("a planted link named like a staging folder", *DBT, "-o", "out", code=0, diagnostic=None,
          setup=_steps(_compiled("out"), _symlink(".out.sparklec-old-0123456789ab", "victim"))),
    _case("switching backends replaces the old output", "p.spk", "--backend", "argo", "-o", "out", code=0,
          diagnostic=None, setup=_compiled("out"), changes=("out/",)),
    # the operating system says no
    _case("a read-only filesystem", *DBT, "-o", "ro/out", diagnostic="E520", setup=_mount("ro", "ro,size=1m"),
          needs_root=True),
    _case("no space left", *DBT, "-o", "full/out", diagnostic="E520", setup=_nearly_full("full"), needs_root=True),
    _case("permission denied", *DBT, "-o", "locked/out", diagnostic="E520", setup=_read_only("locked"),
          restricted=True),
    _case("a parent that is a file", *DBT, "-o", "afile/out", diagnostic="E520", setup=_files(".", {"afile": "x"})),
    _case("a folder in /proc", *DBT, "-o", "/proc/sparklec-out", diagnostic="E520"),
    _case("an unreadable input folder", "graph", "locked", diagnostic="E520",
          setup=_steps(_files("locked", {"p.spk": PIPELINE}), lambda root: (root / "locked").chmod(0)),
          restricted=True),
    _case("check of a folder given as a file", "check", "p.spk/x.spk", diagnostic="E501"),
    # convert -o
    _case("convert -o an existing file", "convert", "p.spk", "-o", "afile", diagnostic="E511",
          setup=_files(".", {"afile": "mine"})),
    _case("convert -o its input", "convert", "p.spk", "-o", "p.spk", diagnostic="E510"),
    _case("convert -o a folder", "convert", "p.spk", "-o", "data", diagnostic="E510"),
    _case("convert -o a read-only folder", "convert", "p.spk", "-o", "locked/p2.spk", diagnostic="E520",
          setup=_read_only("locked"), restricted=True),
    # run
    _case("run --data missing", "run", "p.spk", "--data", "dta", diagnostic="E605"),
    _case("run --data a file", "run", "p.spk", "--data", "p.spk", diagnostic="E605"),
    _case("run --db a folder", "run", "p.spk", "--data", "data", "--db", "data", diagnostic="E606"),
    _case("run --db not a database", "run", "p.spk", "--data", "data", "--db", "p.spk", diagnostic="E606"),
    _case("run --db in /proc", "run", "p.spk", "--data", "data", "--db", "/proc/x.duckdb", diagnostic="E606"),
    _case("run --bind a folder", "run", "p.spk", "--bind", "orders=data", diagnostic="E607"),
    _case("run --bind a missing file", "run", "p.spk", "--bind", "orders=nosuch.csv", diagnostic="E607"),
    _case("run -o the current folder", "run", "p.spk", "--data", "data", "-o", ".", diagnostic="E510"),
    _case("run -o a user's folder", "run", "p.spk", "--data", "data", "-o", "mine", diagnostic="E511",
          setup=_files("mine", {"notes.md": "x"})),
    _case("run -o the data folder", "run", "p.spk", "--data", "data", "-o", "data", diagnostic="E510"),
    _case("run -o a read-only folder", "run", "p.spk", "--data", "data", "-o", "locked/run", diagnostic="E520",
          setup=_read_only("locked"), restricted=True),
    _case("run -o twice keeps the user's files", "run", "p.spk", "--data", "data", "-o", "runs", code=0,
          diagnostic=None, setup=_steps(lambda root: main(["run", "p.spk", "--data", "data", "-o", "runs"]),
                                        _files("runs", {"notes.md": "x"})), changes=("runs/silver/", f"runs/{MANIFEST}")),
    # the command line
    _case("an unknown -O option", *DBT, "-O", "colour=blue", code=2, diagnostic="E401"),
    _case("an unknown -O value", *DBT, "-O", "fuse=maybe", code=2, diagnostic="E401"),
    _case("an unknown pass", *DBT, "--print-ir-after", "fusion", code=2, diagnostic="E500"),
    _case("a command that does not exist", "compile", "p.spk", code=2, diagnostic="E500"),
    _case("an unknown option", "check", "p.spk", "--colour", code=2, diagnostic="E500"),
]


def _snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry below `root`: a file's bytes, a link's target (never followed), `dir` for a folder."""
    found: dict[str, bytes | str] = {}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = Path(folder) / name
            relative = str(path.relative_to(root))
            if path.is_symlink():
                found[relative] = f"link → {os.readlink(path)}"
            elif path.is_dir():
                found[relative] = "dir"
            elif path.is_file():
                try:
                    found[relative] = path.read_bytes()
                except PermissionError:
                    found[relative] = "unreadable"
        folders[:] = [f for f in folders if not (Path(folder) / f).is_symlink() and os.access(Path(folder) / f, os.R_OK)]
    return found


def _unmount(root: Path) -> None:
    for line in reversed(Path("/proc/self/mounts").read_text().splitlines()):
        point = line.split()[1]
        if point.startswith(str(root)):
            subprocess.run(["umount", point], check=False)


@pytest.fixture
def workplace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    root = tmp_path / "work"
    (root / "data" / "bronze").mkdir(parents=True)
    (root / "data" / "bronze" / "orders.csv").write_text(ORDERS)
    (root / "p.spk").write_text(PIPELINE)
    monkeypatch.chdir(root)
    monkeypatch.setenv("HOME", str(root / "home"))
    yield root
    _unmount(root)
    for folder, folders, _ in os.walk(root):
        for name in folders:
            if not (Path(folder) / name).is_symlink():
                (Path(folder) / name).chmod(0o755)


def _run(case: Case, root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    cwd = root / case.cwd
    if case.restricted:
        done = subprocess.run([*RESTRICT, sys.executable, "-m", "sparklec", *case.args], cwd=cwd,
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        return done.returncode, done.stdout + done.stderr
    os.chdir(cwd)
    code = main(list(case.args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("case", CASES)
def test_case(case: Case, workplace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case.setup(workplace)
    capsys.readouterr()
    before = _snapshot(workplace)
    code, printed = _run(case, workplace, capsys)
    assert "Traceback" not in printed
    assert code == case.code, printed
    if case.diagnostic:
        assert f"[{case.diagnostic}]" in printed, printed
    else:
        assert "error[" not in printed, printed
    after = _snapshot(workplace)
    lost = {path for path, content in before.items()
            if after.get(path) != content and not any(path.startswith(c) for c in case.changes)
            and not (content == "dir" and after.get(path) == "dir")}
    assert not lost, f"changed or lost: {sorted(lost)}"
    leftovers = [p for p in after if ".sparklec-new-" in p or (".sparklec-old-" in p and p not in before)]
    assert not leftovers


# --- atomic writing -------------------------------------------------------------------------------------------

OLD = {f"f{i:02}.txt": f"old {i}\n" for i in range(50)}
NEW = {f"d{i % 5}/f{i:02}.txt": f"new {i}\n" for i in range(50)}


def _written(folder: Path, files: dict[str, str], extra: dict[str, str] | None = None) -> dict[str, bytes | str]:
    """What `folder` holds after `files` are written into it (by an earlier, uninterrupted run elsewhere)."""
    write_atomically(files, folder)
    for path, text in (extra or {}).items():
        (folder / path).write_text(text)
    return _snapshot(folder)


def test_a_failure_at_any_file_leaves_the_previous_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out"
    before = _written(target, OLD, {"mine.txt": "the user's"})
    real_open = open
    for failing in range(1, len(NEW) + 1):
        opened = 0

        def open_failing(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
            nonlocal opened
            opened += "w" in mode
            if "w" in mode and opened == failing:  # noqa: B023 - the loop's value is meant
                raise OSError(28, "No space left on device", str(file))
            return real_open(file, mode, *args, **kwargs)  # type: ignore[call-overload]

        monkeypatch.setattr(output, "open", open_failing, raising=False)
        with pytest.raises(OutputError) as error:
            write_atomically(NEW, target)
        monkeypatch.undo()
        assert [d.code for d in error.value.diagnostics] == ["E520"]
        assert str(target) in error.value.diagnostics[0].message and ".sparklec-new-" not in str(error.value)
        assert _snapshot(target) == before
        assert sorted(os.listdir(tmp_path)) == ["out"]
    assert failing == len(NEW)


_MUTATIONS = ("mkdir", "rename", "unlink", "rmdir", "link", "symlink", "chmod")


def _killed_at(step: int, target: Path, files: dict[str, str], exchange: bool) -> bool:
    """Write `files` to `target` in a child process killed (SIGKILL) at its `step`-th change to the filesystem;
    whether it was killed before it finished."""
    child = os.fork()
    if child == 0:  # the child: count every change, die at the chosen one
        count = 0

        def counted(function: Callable[..., object]) -> Callable[..., object]:
            def change(*args: object, **kwargs: object) -> object:
                nonlocal count
                count += 1
                if count == step:
                    os.kill(os.getpid(), signal.SIGKILL)
                return function(*args, **kwargs)
            return change

        for name in _MUTATIONS:
            setattr(os, name, counted(getattr(os, name)))
        real_open = open
        output.open = lambda file, mode="r", *a, **k: (counted(real_open) if "w" in mode else real_open)(  # type: ignore[attr-defined]
            file, mode, *a, **k)
        swap._exchange = counted(swap._exchange if exchange else lambda first, second: False)  # type: ignore[assignment]
        try:
            write_atomically(files, target)
        finally:
            os._exit(0)
    _, status = os.waitpid(child, 0)
    return os.WIFSIGNALED(status)


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2 exchange", "two renames"])
def test_kill_at_every_step_leaves_the_old_or_the_new_output(tmp_path: Path, exchange: bool) -> None:
    """Killed at any change to the filesystem, the folder holds the old output or the new one (with two renames,
    it may be missing between them: the next run puts the old one back); the next run then recovers cleanly."""
    old, new = dict(list(OLD.items())[:10]), dict(list(NEW.items())[:10])
    expected_old = _written(tmp_path / "reference" / "out", old, {"mine.txt": "the user's"})
    expected_new = _written(tmp_path / "reference" / "out", new)
    steps = 0
    while True:
        steps += 1
        work = tmp_path / f"run{steps}"
        _written(work / "out", old, {"mine.txt": "the user's"})
        if not _killed_at(steps, work / "out", new, exchange):
            break
        now = _snapshot(work / "out") if (work / "out").exists() else None
        if now is None:
            assert not exchange, f"killed at change {steps}, the output is missing"
            swap.recover(work / "out")
            now = _snapshot(work / "out")
        assert now in (expected_old, expected_new), f"killed at change {steps}"
        write_atomically(new, work / "out")
        assert _snapshot(work / "out") == expected_new
        assert sorted(os.listdir(work)) == ["out"]
        shutil.rmtree(work)
    assert steps > 20  # every file, folder, the manifest, the swap and the removal of the old output
    assert _snapshot(work / "out") == expected_new


# --- names that make paths, and the Python API -----------------------------------------------------------------

@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
       st.text(st.characters(exclude_categories=("Cs",)), max_size=20))
def test_a_path_made_of_names_stays_inside_its_folder(first: str, second: str) -> None:
    """`check_name` lets names through only when, joined below any folder, they stay inside that folder, each
    one name (as `sparklec run` makes ``<schema>/<table>.parquet``)."""
    try:
        check_name(first, "the schema")
        check_name(f"{second}.parquet", "the table")
    except UsageError as error:
        assert [d.code for d in error.diagnostics] == ["E504"]
        return
    root = Path("/srv/out")
    path = Path(os.path.normpath(root / first / f"{second}.parquet"))
    assert path.is_relative_to(root) and path.relative_to(root).parts == (first, f"{second}.parquet")


@pytest.mark.parametrize("target", ["main.`/tmp/sparklec-x`.evil", "main.silver.`../../../sparklec-x`",
                                    "main.`..`.t", "main.s.`a\\\\b`", "main.s." + "t" * 300])
def test_run_refuses_target_names_that_leave_its_output(workplace: Path, capsys: pytest.CaptureFixture[str],
                                                        target: str) -> None:
    (workplace / "hostile.spk").write_text(PIPELINE.replace("main.silver.orders_clean", target))
    before = _snapshot(workplace)
    code = main(["run", "hostile.spk", "--data", "data", "-o", "runs"])
    printed = capsys.readouterr().err
    assert code == 1 and "[E220]" in printed and "Traceback" not in printed
    assert _snapshot(workplace) == before
    assert not Path("/tmp/sparklec-x").exists() and not (workplace.parent.parent / "sparklec-x").exists()


def test_deploy_checks_the_default_folder_it_makes_from_the_name(workplace: Path) -> None:
    (workplace / "victim").mkdir()
    (workplace / "victim" / "data.txt").write_text("precious")
    pipeline = Pipeline.from_dsl(PIPELINE.replace("orders_daily", "`../../victim`"))
    with pytest.raises(SparklecError) as error:
        pipeline.deploy(orchestrator="dbt")
    assert [d.code for d in error.value.diagnostics] == ["E504"]
    assert (workplace / "victim" / "data.txt").read_text() == "precious"
    assert not (workplace / "deployments").exists()


@pytest.mark.parametrize(("output", "code"), [(".", "E510"), ("", "E510"), ("p.spk", "E510"), ("data/bronze/orders.csv", "E511"), ("/proc/x", "E520")])
def test_deploy_raises_a_sparklec_error(workplace: Path, output: str, code: str) -> None:
    before = _snapshot(workplace)
    with pytest.raises(SparklecError) as error:
        Pipeline.from_file("p.spk").deploy(orchestrator="argo", output=output)
    assert [d.code for d in error.value.diagnostics] == [code]
    assert _snapshot(workplace) == before


def test_deploy_keeps_what_the_user_added(workplace: Path) -> None:
    pipeline = Pipeline.from_file("p.spk")
    first = pipeline.deploy(orchestrator="dbt")
    folder = workplace / "deployments" / "dbt" / "orders_daily"
    (folder / "notes.md").write_text("mine")
    assert pipeline.deploy(orchestrator="dbt") == first
    assert (folder / "notes.md").read_text() == "mine"
    (folder / "dbt_project.yml").write_text("edited")
    with pytest.raises(SparklecError) as error:
        pipeline.deploy(orchestrator="dbt")
    assert [d.code for d in error.value.diagnostics] == ["E512"] and "dbt_project.yml" in str(error.value)
    pipeline.deploy(orchestrator="dbt", force=True)
    assert (folder / "dbt_project.yml").read_text() != "edited" and (folder / "notes.md").read_text() == "mine"


def test_print_ir_after_takes_every_pass_that_all_prints(workplace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["p.spk", "--emit", "ir", "--print-ir-after", "all"]) == 0
    passes = [line.removeprefix("// IR after ") for line in capsys.readouterr().err.splitlines()
              if line.startswith("// IR after ")]
    assert len(passes) >= 2
    for name in passes:
        assert main(["p.spk", "--emit", "ir", "--print-ir-after", name]) == 0
        assert f"// IR after {name}\n" in capsys.readouterr().err
    assert main(["p.spk", "--emit", "ir", "--print-ir-after", "nosuch"]) == 2
    listed = capsys.readouterr().err
    assert "[E500]" in listed and all(f"`{name}`" in listed or name in listed for name in passes)


@pytest.mark.parametrize("args", [("check", "p.spk"), ("check", "nosuch.spk"), ("p.spk", "--backend", "argo", "-o", "a"),
                                  ("p.spk", "--backend", "argo", "-o", "."), ("run", "p.spk", "--data", "dta"),
                                  ("check", "p.spk", "--bogus")])
def test_json_diagnostics_are_the_only_thing_on_stderr(workplace: Path, capsys: pytest.CaptureFixture[str],
                                                       args: tuple[str, ...]) -> None:
    main([*args, "--diagnostics-format", "json"])
    diagnostics = json.loads(capsys.readouterr().err)
    assert isinstance(diagnostics, list)
    assert all({"code", "severity", "message"} <= set(d) for d in diagnostics)


def test_output_folders_inside_an_input_folder_are_not_read_as_pipelines(workplace: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (workplace / "project").mkdir()
    shutil.copy(workplace / "p.spk", workplace / "project" / "p.spk")
    assert main(["project", "--backend", "argo", "-o", "project/out"]) == 0
    assert main(["check", "project"]) == 0
    assert "N102" in capsys.readouterr().err


# --- check reports what compile would, in one run -------------------------------------------------------------

BAD_SQL = """pipeline bad_sql {
  source src = main.bronze.src { columns { id: int, amount: double } }
  target dst = main.silver.dst
  transformer cents = "amount * * 100"
  task clean = from src | filter_by_condition(condition: "amount >> AND 0") | cents(target_column: c)
  task agg = sql "select id, count(* from {{ src }} group by 1"
  task save = write clean into dst
  task fix = execute "UPDATE silver.dst SET amount = WHERE"
}
"""
SYNTAX_ERROR = "pipeline broken {\n  source src = main.bronze.src { columns { id: int }\n"


@pytest.mark.parametrize("command", [("check",), ("--backend", "dbt", "-o", "out"), ("--backend", "argo", "-o", "out"),
                                     ("--backend", "stepfunctions", "-o", "out")])
def test_every_sql_error_is_reported_in_the_users_words(workplace: Path, capsys: pytest.CaptureFixture[str],
                                                         command: tuple[str, ...]) -> None:
    (workplace / "bad.spk").write_text(BAD_SQL)
    code = main([*command[:1], "bad.spk", *command[1:]] if command[0] == "check" else ["bad.spk", *command])
    printed = capsys.readouterr().err
    assert code == 1 and "Traceback" not in printed
    assert printed.count("error[E403]") == 4, printed
    for words in ("the filter condition", "custom transformer `cents`", "the SQL of `agg`", "a statement of `fix`",
                  "select id, count(* from {{ src }} group by 1", "expected `)` at `from` (column 23 of the SQL)"):
        assert words in printed
    assert not any(leak in printed for leak in ("sqlglot", "<class", "__sparklec", "Token"))
    assert not (workplace / "out").exists()


def test_check_reports_every_file_and_every_stage_at_once(workplace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workplace / "project").mkdir()
    (workplace / "project" / "a_syntax.spk").write_text(SYNTAX_ERROR)
    (workplace / "project" / "b_sql.spk").write_text(BAD_SQL)
    assert main(["check", "project"]) == 1
    printed = capsys.readouterr().err
    assert "error[E121]" in printed and printed.count("error[E403]") == 4
    (workplace / "project" / "c_meaning.spk").write_text(PIPELINE.replace("orders_daily", "other").replace(
        "write tidy into clean", "write tidy into nowhere"))
    assert main(["check", "project"]) == 1
    printed = capsys.readouterr().err
    assert "error[E121]" in printed and "error[E202]" in printed and "`nowhere`" in printed


def test_the_run_table_stays_readable_when_piped(workplace: Path) -> None:
    """Piped, the summary is not cut to 80 columns: statuses and details are whole."""
    Path("long.spk").write_text(PIPELINE.replace("orders_daily", "orders_daily_" + "x" * 60))
    done = subprocess.run([sys.executable, "-m", "sparklec", "run", "long.spk", "--data", "data", "-o", "runs"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": ""})
    assert done.returncode == 0, done.stderr
    [save] = [line for line in done.stdout.splitlines() if "│ save " in line]
    assert "succeeded" in save and "append into dev_silver.orders_clean (2 rows)" in save, done.stdout
    assert any("┃ detail" in line for line in done.stdout.splitlines()), "the last column has a header"
    [progress] = [line for line in done.stderr.splitlines() if ".save " in line]
    assert progress.endswith("append into dev_silver.orders_clean (2 rows)"), "a progress line is one line"
