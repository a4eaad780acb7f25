"""Synthetic pipelines for the benchmarks: N tasks in a given shape, as a `.spk` file or as a folder of
Sparkle configs.

Shapes (the DAG of the tasks):

- ``chain``: each task after the one before;
- ``fan``: one task, N-2 tasks after it in parallel, one task after all of them;
- ``layered``: layers of about √N tasks, each task after one to three random tasks of the layer before;
- ``nsp``: a chain of "N" motifs (a→c, a→d, b→d), the smallest DAG that is not series-parallel.

The DAG's nodes are transforms — chains of `ops` operations over the relation of one upstream (waiting for
the others with `after`; the first read the source) — each written to a table of its own, so a pipeline
of N tasks has N/2 transforms and N/2 writes, and no transform is fused away.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

SHAPES = ("chain", "fan", "layered", "nsp")
OPS = ("drop_exact_duplicates", "trim_and_clean_strings(columns: [name, email])", "normalize_case(columns: [country])",
       "clean_email_addresses(columns: [email])", "standardize_nulls(null_values: [\"\", \"N/A\"])",
       "filter_by_condition(condition: \"amount >= 0\")")
"""Operations that keep the source's columns, so any chain of them applies to any task's input."""
CONFIG_OPS = ({"name": "drop_exact_duplicates"},
              {"name": "trim_and_clean_strings", "params": {"columns": ["name", "email"]}},
              {"name": "normalize_case", "params": {"columns": ["country"]}},
              {"name": "clean_email_addresses", "params": {"columns": ["email"]}},
              {"name": "standardize_nulls", "params": {"null_values": ["", "N/A"]}},
              {"name": "filter_by_condition", "params": {"condition": "amount >= 0"}})
"""The same operations as Sparkle config transformers."""
COLUMNS = {"id": "bigint", "name": "string", "email": "string", "country": "string", "amount": "double"}


def upstreams(shape: str, n: int, seed: int = 0) -> list[list[int]]:
    """For each of `n` tasks, the indices of the tasks it waits for (all smaller than its own)."""
    rng = random.Random(seed)
    if shape == "chain":
        return [[i - 1] if i else [] for i in range(n)]
    if shape == "fan":
        return [[] if i == 0 else [0] if i < n - 1 or n < 3 else list(range(1, n - 1)) for i in range(n)]
    if shape == "layered":
        width = max(1, math.isqrt(n))
        result: list[list[int]] = []
        for i in range(n):
            layer = i // width
            previous = range((layer - 1) * width, layer * width)
            result.append(sorted(rng.sample(previous, min(len(previous), rng.randint(1, 3)))) if layer else [])
        return result
    if shape == "nsp":
        result = []
        for i in range(n):
            a, position = i - i % 4, i % 4
            motif = {0: [a - 1] if a else [], 1: [a - 1] if a else [], 2: [a], 3: [a, a + 1]}[position]
            result.append(motif)
        return result
    raise ValueError(f"unknown shape {shape}; one of {', '.join(SHAPES)}")


def spk(shape: str, n: int, ops: int = 3, seed: int = 0) -> str:
    """A `.spk` pipeline of `n` tasks in `shape`: transforms of `ops` operations, each written to a table."""
    columns = ",\n".join(f"      {name}: {kind}" for name, kind in COLUMNS.items())
    lines = [f"pipeline bench_{shape}_{n} {{", "  source raw = main.bronze.raw {", "    columns {", columns,
             "    }", "  }"]
    for i, before in enumerate(upstreams(shape, max(1, n // 2), seed)):
        source = f"t{before[0]}" if before else "raw"
        chain = "".join(f"\n      | {OPS[(i + k) % len(OPS)]}" for k in range(ops))
        after = f" after {', '.join(f't{b}' for b in before[1:])}" if len(before) > 1 else ""
        lines += [f"  target out{i} = main.silver.t{i}", f"  task t{i} = from {source}{chain}{after}",
                  f"  task w{i} = write t{i} into out{i}"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def configs(folder: Path, shape: str, n: int, ops: int = 3, seed: int = 0) -> Path:
    """Silver Sparkle configs in `folder` for `n` tasks, linked by `dependencies` in `shape` (a config is a
    transformer chain of `ops` operations and its write: two tasks)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, before in enumerate(upstreams(shape, max(1, n // 2), seed)):
        config = {
            "pipeline_name": f"p{i}", "pipeline_type": "silver_batch_transformation", "env": "prod",
            "source_system": "bronze", "source_table": f"main.silver.t{before[0]}" if before else "main.bronze.raw",
            "destination_catalog": "main", "destination_schema": "silver", "destination_table": f"t{i}",
            "transformers": [CONFIG_OPS[(i + k) % len(CONFIG_OPS)] for k in range(ops)],
            "primary_key": ["id"], "write_mode": "overwrite", "schedule": "daily",
            "dependencies": [f"p{b}" for b in before],
            "extra_config": {"source_columns": COLUMNS},
        }
        (folder / f"p{i}.json").write_text(json.dumps(config, indent=2) + "\n")
    return folder
