"""Inputs past the limits of `sparklec.frontends.limits`, and values no target can take: each is a positioned
diagnostic, found quickly and in little memory, never a traceback or a hang."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

from conftest import EXAMPLES
from sparklec.diagnostics import LoweringError, SparklecError, raise_if_errors
from sparklec.compiler.driver import check_sql, load

SPK = (EXAMPLES / "dsl" / "customer_silver_daily.spk").read_text()
YAML = (EXAMPLES / "sparkle" / "silver" / "silver_customers.yaml").read_text()
TARGET = "silver.customers"
LIVE = (EXAMPLES / "sparkle" / "gold" / "gold_live_orders.yaml").read_text()
NESTED_IFS = "".join(f"if p{i} == 1 as b{i} {{\n" for i in range(3000)) + "task w = wait 1s\n" + "}\n" * 3000
LAUGHS = "\n".join(["a0: &a0 [" + ",".join(["x"] * 10) + "]",
                    *(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9))]) + "\n"

CASES = {
    # name: (file name, text, expected code)
    "a huge integer in .spk": ("p.spk", SPK.replace("retry 2", "retry " + "9" * 5000), "E143"),
    "a huge integer in JSON": ("c.json", '{"n": ' + "9" * 5000 + "}", "E143"),
    "a huge integer in YAML": ("c.yaml", "n: " + "9" * 5000 + "\n" + YAML, "E143"),
    "infinity in JSON": ("c.json", '{"n": 1e999}', "E143"),
    "a control character in YAML": ("c.yaml", YAML.replace("\n", "\n# \x03\n", 1), "E102"),
    "a lone surrogate escape in JSON": ("c.json", '{"x": "\\ud800"}', "E142"),
    "a NUL in user SQL": ("p.spk", SPK.replace("0 3 * * *", "0 3 * * *\\u0000"), "E142"),
    "a recursive YAML alias": ("c.yaml", "loop: &loop [*loop]\n" + YAML, "E144"),
    "a billion laughs": ("c.yaml", LAUGHS + YAML, "E144"),
    "a YAML tag": ("c.yaml", YAML.replace("pipeline_name:", "when: !!timestamp 2024-13-45\npipeline_name:"),
                   "E102"),
    "50,000 nested parentheses": ("p.spk", SPK.replace("pipeline customer_silver_daily {", "pipeline customer_silver_daily {\n  tags [" + "[\n" * 50_000 + "]" * 50_000 + "]", 1),
                                  "E141"),
    "3,000 nested branches": ("p.spk", SPK.replace("\n}", "\n" + NESTED_IFS + "}", 1), "E141"),
    "a 10,000-deep YAML flow list": ("c.yaml", YAML + "deep: " + "[" * 10_000 + "]" * 10_000 + "\n", "E141"),
    "a 10 MB string in .spk": ("p.spk", SPK.replace('"0 3 * * *"', '"' + "x" * 10_000_000 + '"'), "E142"),
    "a 2 MB config": ("c.yaml", YAML + "# " + "x" * 2_000_000 + "\n", "E140"),
    "a 300-character table name": ("p.spk", SPK.replace(TARGET, "silver." + "t" * 300), "E220"),
    "a schema name with dots": ("p.spk", SPK.replace(TARGET, "`a.b`.customers"), "E220"),
    "a time zone that is a command": ("p.spk", SPK.replace('schedule "0 3 * * *"',
                                                           'schedule "0 3 * * *" timezone "Mars/Olympus; rm -rf /"'),
                                      "E210"),
    "cpu that is not a quantity": ("p.spk", SPK.replace("retry 2", 'resources { cpu: "two" }\n    retry 3', 1),
                                   "E211"),
    "a decimal precision of 20,000 digits": ("c.yaml", YAML.replace("customer_id: bigint",
                                                                    f"customer_id: decimal({'9' * 20_000},2)"), "E113"),
    "SQL 3,000 parentheses deep": ("c.yaml", LIVE.replace('"sum(amount)"', '"' + "(" * 3000 + "sum(amount)"
                                                         + ")" * 3000 + '"'), "E145"),
    "SQL 1,000 CASEs deep": ("c.yaml", LIVE.replace('"sum(amount)"', '"' + "case when amount > 0 then " * 1000 + "1"
                                                   + " end" * 1000 + '"'), "E145"),
    "a tag value AWS refuses": ("p.spk", SPK.replace('layer: "silver"', 'layer: "a;b"'), "E219"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_inputs_past_a_limit_are_a_positioned_error(tmp_path: Path, case: str) -> None:
    name, text, code = CASES[case]
    assert text not in (SPK, YAML), "the case changes its example"
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    started, memory = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(SparklecError) as error:
        project, _ = load([path], environ={})
        raise_if_errors(check_sql(project), LoweringError)
    assert time.perf_counter() - started < 5 and resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory < 400_000
    found = [d for d in error.value.diagnostics if d.is_error]
    assert [d.code for d in found][:1] == [code], found
    assert found[0].span is not None and found[0].span.file == str(path) and found[0].span.line >= 1
