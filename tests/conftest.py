"""Shared fixtures and the hypothesis profiles (`HYPOTHESIS_PROFILE=ci|long|fuzz`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from sparklec.compiler.cli import main

settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile("fuzz", max_examples=10_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SHARED_CONFIGS = sorted((SHARED / "sparkle-configs").glob("*_*.json"))
EXAMPLES = ROOT / "examples"
PLUGIN = Path(__file__).parent / "plugin_package"
EXAMPLE_CONFIGS = sorted(p for p in (EXAMPLES / "sparkle").rglob("*") if p.suffix in (".json", ".yaml", ".yml"))


COMPILED_SOURCES = {**{p.stem: p for p in sorted((EXAMPLES / "dsl").glob("*.spk"))},
                    "sparkle": EXAMPLES / "sparkle", "shared": SHARED / "sparkle-configs"}
"""Every example and both shared configs: what each backend's tests compile."""


def compile_sources(root: Path, backend: str) -> Path:
    """Compile every source in `COMPILED_SOURCES` with `backend`, into a folder per source under `root`."""
    from sparklec.compiler.driver import load, lower, optimise
    from sparklec.compiler.output import write_atomically

    for name, path in COMPILED_SOURCES.items():
        project, _ = load([path], environ={})
        write_atomically(lower(optimise(project), backend, {}), root / name)
    return root


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run `sparklec` in-process: ``cli("check", path)`` → CliResult(code, out, err)."""
    def run(*args: object) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)
    return run


def install_entry_point(site: Path, dist: str, line: str) -> None:
    """Make a distribution with one `sparklec.backends` entry point visible to importlib.metadata."""
    info = site / f"{dist}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[sparklec.backends]\n{line}\n")


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The plugin package under tests/, installed as a distribution for this test."""
    install_entry_point(tmp_path, "sparklec_plugin_example", "ir-json = sparklec_plugin_example:backend")
    monkeypatch.syspath_prepend(str(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("sparklec_plugin_example", None)


GOLDEN = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite the golden files from the current output")


@pytest.fixture
def golden(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``golden(backend, name, artifacts)`` compares with tests/golden/<backend>/<name>/ (or rewrites it)."""
    update = bool(request.config.getoption("--update-golden"))

    def check(backend: str, name: str, artifacts: dict[str, str]) -> None:
        folder = GOLDEN / backend / name
        if update:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
            for path, text in artifacts.items():
                (folder / path).parent.mkdir(parents=True, exist_ok=True)
                (folder / path).write_text(text, encoding="utf-8")
            return
        assert folder.is_dir(), f"no golden files for {backend}/{name}: run pytest --update-golden"
        stored = {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.is_file()}
        assert sorted(stored) == sorted(artifacts), "the generated files differ from the golden ones"
        for path, text in artifacts.items():
            assert text == stored[path], f"{backend}/{name}/{path} differs from its golden file"
    return check
