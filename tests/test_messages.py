"""Messages point at the mistake: where it is, what is wrong, and a fix that is not the thing itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import EXAMPLES

PIPELINE = """pipeline p {
  source raw = main.bronze.raw { columns { id: bigint, email: string } }
  target clean = main.silver.clean
  task tidy = from raw
      | standardize_nulls(columns: [email]
      | drop_exact_duplicates
  task save = write tidy into clean { mode upsert unique_key id }
}
"""
PROJECT = """project shop
pipeline silver_customers {
  depends_on silver_customer
  task a = wait 1s
}
pipeline bronze {
  task b = wait 1s
}
"""
SELF = """pipeline p {
  source raw = main.bronze.raw
  task clean = from clena | drop_exact_duplicates
}
"""

CASES = {
    # name: (file, text, code, line, column, words of the message, words of the help)
    "a missing )": ("p.spk", PIPELINE, "E121", 6, 7, "missing `)`: the `(` on line 5, column 26", "add `)`"),
    "an upsert": ("p.spk", PIPELINE.replace("[email]", "[email])"), "E209", 7, 44, "write mode `upsert`",
                  "did you mean `merge`?"),
    "a dependency like the pipeline's own name": ("p.spk", PROJECT, "W201", 2, 10, "depends on `silver_customer`",
                                                  "it is treated as an external dependency"),
    "a relation like the task's own name": ("p.spk", SELF, "E202", 3, 21, "unknown relation `clena`", "raw"),
    "a missing field in YAML": ("c.yaml", "pipeline_name: x\npipeline_type: silver_batch_transformation\n"
                                "env: prod\nsource_table: main.bronze.raw\n", "E106", 1, 1,
                                "missing required field `destination_table`", "add `destination_table: ...`"),
    "a YAML file that ends too early": ("c.yaml", "pipeline_name: x\nsource_table: [a,\n", "E102", 2, 18,
                                        "invalid YAML", "the file ends too early"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_message_points_at_the_mistake(case: str, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    file, text, code, line, column, message, help_text = CASES[case]
    (tmp_path / file).write_text(text)
    shown = json.loads(cli("check", tmp_path / file, "--diagnostics-format", "json").err)
    found = [d for d in shown if d["code"] == code]
    assert found, shown
    assert (found[0]["line"], found[0]["column"]) == (line, column), found[0]
    assert message in found[0]["message"] and help_text in found[0].get("help", ""), found[0]
    rendered = cli("check", tmp_path / file).err
    assert f"{line} | {text.splitlines()[line - 1]}" in rendered, "the line is quoted"


def test_a_bind_that_names_nothing_suggests_the_closest_source(cli) -> None:  # type: ignore[no-untyped-def]
    spk = EXAMPLES / "dsl" / "customer_silver_daily.spk"
    shown = cli("run", spk, "--bind", f"customers_ra={spk}", "--diagnostics-format", "json")
    [problem] = [d for d in json.loads(shown.err) if d["code"] == "E604"]
    assert problem["help"] == "did you mean `customers_raw`?"
