"""Shared fixtures and the hypothesis profiles (`HYPOTHESIS_PROFILE=ci|long`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from sparklec.compiler.cli import main

settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SHARED_CONFIGS = sorted((SHARED / "sparkle-configs").glob("*_*.json"))
EXAMPLES = ROOT / "examples"
EXAMPLE_CONFIGS = sorted(p for p in (EXAMPLES / "sparkle").rglob("*") if p.suffix in (".json", ".yaml", ".yml"))


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
