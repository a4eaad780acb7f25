"""sparklec's benchmarks: end-to-end compile time and peak memory by size, shape, frontend and backend,
start-up, and the serialisation floor of the same output.

    python bench/run.py                  # 100 / 1,000 / 10,000 tasks; writes bench/results.md
    python bench/run.py --quick          # 10 / 100 tasks, one run each: proves the benchmarks still work

Each measurement runs the `sparklec` CLI in a fresh process (the median of its runs; peak RSS from the
kernel's accounting of that process).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import SHAPES, configs, spk  # noqa: E402

BACKENDS = ("dbt", "stepfunctions", "argo")
SPARKLEC = [sys.executable, "-m", "sparklec"]
TARGETS = {"1,000 tasks, any backend (median)": 0.5, "10,000 tasks, any backend (median)": 4.0,
           "`sparklec --help`": 0.15}
"""Seconds."""


def measure(command: list[str], runs: int) -> tuple[float, int]:
    """Median wall seconds and the largest peak RSS (MB) of `command` over `runs` runs."""
    times, peaks = [], []
    for _ in range(runs):
        with tempfile.TemporaryFile() as errors:
            start = time.perf_counter()
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
            _, status, usage = os.wait4(process.pid, 0)
            times.append(time.perf_counter() - start)
            peaks.append(usage.ru_maxrss // 1024)
            if os.waitstatus_to_exitcode(status) != 0:
                errors.seek(0)
                raise SystemExit(f"{' '.join(command)} failed:\n{errors.read().decode()[-2000:]}")
    return statistics.median(times), max(peaks)


def floor(output: Path) -> float:
    """Seconds `json.dumps` / `yaml.safe_dump` take to write `output`'s JSON and YAML files from dicts."""
    documents = []
    for path in output.rglob("*"):
        if path.suffix == ".json":
            documents.append((json.loads(path.read_text()), "json"))
        elif path.suffix in (".yaml", ".yml"):
            documents += [(d, "yaml") for d in yaml.safe_load_all(path.read_text()) if d is not None]
    start = time.perf_counter()
    for document, kind in documents:
        if kind == "json":
            json.dumps(document, indent=2)
        else:
            yaml.dump(document, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)
    return time.perf_counter() - start


def compile_rows(sizes: list[int], runs: int, work: Path) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        for shape in SHAPES:
            sources = {"spk": work / f"{shape}_{n}.spk", "configs": work / f"{shape}_{n}_configs"}
            sources["spk"].write_text(spk(shape, n))
            configs(sources["configs"], shape, n)
            for frontend, source in sources.items():
                for backend in BACKENDS:
                    output = work / "out" / f"{frontend}_{shape}_{n}_{backend}"
                    seconds, peak = measure([*SPARKLEC, str(source), "--backend", backend, "-o", str(output)], runs)
                    rows.append({"tasks": n, "shape": shape, "frontend": frontend, "backend": backend,
                                 "seconds": seconds, "peak_mb": peak, "floor": floor(output)})
                    print(f"{n:>6} {shape:<8} {frontend:<8} {backend:<14} {seconds:7.2f} s {peak:5d} MB "
                          f"(serialisation floor {rows[-1]['floor']:.2f} s)", flush=True)
    return rows


def startup_rows(runs: int, work: Path) -> list[tuple[str, float, int]]:
    tiny = work / "tiny.spk"
    tiny.write_text(spk("chain", 2))
    return [("`sparklec --help`", *measure([*SPARKLEC, "--help"], runs)),
            ("`sparklec check` on a 2-task file", *measure([*SPARKLEC, "check", str(tiny)], runs))]


def report(rows: list[dict[str, Any]], startup: list[tuple[str, float, int]]) -> str:
    lines = ["# Benchmark results", "", f"Python {sys.version.split()[0]}, {os.cpu_count()} cores. "
             "Wall time is the median of the runs of the `sparklec` CLI in a fresh process, end to end "
             "(start-up, parsing, verifying, passes, lowering, writing); the floor is `json.dumps` / "
             "`yaml.dump` (libyaml) of the same output from prebuilt dicts.", "",
             "## Start-up", "", "| command | seconds | peak MB |", "|---|---|---|"]
    lines += [f"| {name} | {seconds:.3f} | {peak} |" for name, seconds, peak in startup]
    lines += ["", "## Compile", "", "| tasks | shape | frontend | backend | seconds | peak MB | floor s | × floor |",
              "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        ratio = row["seconds"] / row["floor"] if row["floor"] else float("nan")
        lines.append(f"| {row['tasks']:,} | {row['shape']} | {row['frontend']} | {row['backend']} | "
                     f"{row['seconds']:.2f} | {row['peak_mb']} | {row['floor']:.3f} | {ratio:.0f} |")
    sizes = sorted({row["tasks"] for row in rows})
    if len(sizes) > 1:
        lines += ["", "## Scaling", "", "Time at the largest size over time at the one before, divided by the "
                  "growth in tasks (1.0 is linear).", "", "| frontend | backend | shape | growth |",
                  "|---|---|---|---|"]
        by_key = {(r["frontend"], r["backend"], r["shape"], r["tasks"]): r["seconds"] for r in rows}
        for frontend, backend, shape in sorted({(r["frontend"], r["backend"], r["shape"]) for r in rows}):
            big, small = by_key[(frontend, backend, shape, sizes[-1])], by_key[(frontend, backend, shape, sizes[-2])]
            lines.append(f"| {frontend} | {backend} | {shape} | {big / small / (sizes[-1] / sizes[-2]):.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each (CI)")
    parser.add_argument("--sizes", type=int, nargs="+", help="task counts (default 100 1000 10000)")
    parser.add_argument("--runs", type=int, help="runs per measurement (default 3)")
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).parent / "results.md")
    args = parser.parse_args()
    sizes = args.sizes or ([10, 100] if args.quick else [100, 1000, 10000])
    runs = args.runs or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        startup = startup_rows(runs, work)
        rows = compile_rows(sizes, runs, work)
    text = report(rows, startup)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
