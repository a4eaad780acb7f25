"""Spark as an oracle: a local Spark session (`spark_server.py`) in the Spark environment the Makefile makes.

The environment is ``~/.cache/sparklec/envs/spark-<hash of tests/envs/spark.txt>`` (or
``$SPARKLEC_SPARK_PYTHON``); the tests fail, not skip, when it is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from conftest import ROOT
from sparklec.ir.values import Column, normalize_type

REQUIREMENTS = ROOT / "tests" / "envs" / "spark.txt"


def spark_python() -> Path:
    """The Python of the Spark environment."""
    if "SPARKLEC_SPARK_PYTHON" in os.environ:
        return Path(os.environ["SPARKLEC_SPARK_PYTHON"])
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    return Path.home() / ".cache" / "sparklec" / "envs" / f"spark-{digest}" / "bin" / "python"


class Spark:
    """One local Spark session, asked one request at a time."""

    def __init__(self) -> None:
        python = spark_python()
        assert python.exists(), f"{python} is missing: run `make test` (it makes the Spark environment)"
        self.process = subprocess.Popen(
            [str(python), str(Path(__file__).parent / "spark_server.py")], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ready = self.ask_raw({})
        assert "ready" in ready, f"Spark did not start: {ready}"

    def ask_raw(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin and self.process.stdout
        if request:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the Spark session ended"
        reply: dict[str, Any] = json.loads(line)
        return reply

    def error(self, request: dict[str, Any]) -> str | None:
        """What Spark said was wrong with `request`, or None."""
        error: str | None = self.ask_raw(request)["error"]
        return error

    def parse_error(self, sql: str) -> str | None:
        return self.error({"parse": sql})

    def execute(self, *statements: str) -> None:
        error = self.error({"execute": list(statements)})
        assert error is None, f"Spark failed: {error}\n{statements}"

    def rows(self, sql: str) -> tuple[list[str], list[list[Any]]]:
        reply = self.ask_raw({"rows": sql})
        assert reply["error"] is None, f"Spark failed: {reply['error']}\n{sql}"
        return reply["columns"], reply["rows"]

    def columns(self, table: str) -> tuple[Column, ...]:
        """The columns Spark's catalog gives `table`."""
        _, rows = self.rows(f"DESCRIBE TABLE {table}")
        described = []
        for name, kind, *_ in rows:
            if not name or name.startswith("#"):
                break  # the partitioning follows
            described.append(Column(name=name, type=normalize_type(kind)))
        return tuple(described)

    def load(self, table: str, path: Path) -> None:
        error = self.error({"load": {"table": table, "path": str(path)}})
        assert error is None, f"Spark could not load {path}: {error}"

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=60)
