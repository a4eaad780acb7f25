"""The .spk language: round trips, examples, conversion of configs, formatting, broken files."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import EXAMPLES, SHARED
from sparklec import ir
from sparklec.diagnostics import FrontendError
from sparklec.compiler.driver import load
from sparklec.frontends.dsl import format_text, parse, print_project
from sparklec.ir import transformers as tf
from sparklec.ir.verify import verify
from sparklec.testing import TEXT, projects

DSL_EXAMPLES = sorted((EXAMPLES / "dsl").glob("*.spk"))
BAD = Path(__file__).parent / "bad_spk"


@given(projects())
def test_print_then_parse_is_the_identity(project: ir.Project) -> None:
    text = print_project(project)
    assert parse(text) == project
    assert print_project(parse(text)) == text, "the formatter is idempotent"


ROW_LIST = tuple[tuple[ir.Setting, ...], ...]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.text(TEXT, max_size=12),
                    st.floats(allow_nan=False, allow_infinity=False))
ROWS = st.lists(st.dictionaries(st.text(TEXT, min_size=1, max_size=8), SCALARS, max_size=4), max_size=3).map(
    lambda rows: tuple(tuple(ir.Setting(key=k, value=v) for k, v in row.items()) for row in rows))


@given(st.lists(st.tuples(st.text(TEXT, max_size=20), ROWS, ROWS), max_size=3, unique_by=lambda e: e[0]))
def test_worked_examples_print_and_parse_back(examples: list[tuple[str, ROW_LIST, ROW_LIST]]) -> None:
    """Any names, unicode text and numbers in example rows survive printing."""
    transform = ir.Transform(name="t", input="raw", examples=tuple(
        ir.Example(name=name, given=(ir.Given(relation="raw", rows=given_rows),), expect=expected)
        for name, given_rows, expected in examples))
    project = ir.Project(name="p", pipelines=(ir.Pipeline(name="p", steps=(transform,)),))
    assert parse(print_project(project)) == project


def test_a_key_ending_in_a_newline_is_quoted_not_written_bare() -> None:
    """`$` in a pattern also matches before a final newline: names are matched whole."""
    row = (ir.Setting(key="A\n", value=None),)
    transform = ir.Transform(name="t", input="raw", examples=(
        ir.Example(name="", given=(ir.Given(relation="raw", rows=()),), expect=(row,)),))
    project = ir.Project(name="p", pipelines=(ir.Pipeline(name="p", steps=(transform,)),))
    assert parse(print_project(project)) == project


@pytest.mark.parametrize("path", DSL_EXAMPLES, ids=lambda p: p.stem)
def test_examples_parse_verify_and_are_formatted(path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    text = path.read_text()
    project = parse(text, str(path))
    assert [d for d in verify(project) if d.is_error] == []
    assert format_text(text, str(path)) == text
    assert cli("fmt", "--check", path).code == 0


def test_example_families_are_all_there() -> None:
    assert {p.stem for p in DSL_EXAMPLES} >= {
        "ingestion", "silver_transformation", "gold_aggregate", "scd2_dimension", "backfill",
        "ml_champion_challenger", "customer_project", "customer_silver_daily", "customer_etl", "partition_fanout"}


@pytest.mark.parametrize("paths", [[SHARED / "sparkle-configs"], [EXAMPLES / "sparkle"]],
                         ids=["shared-configs", "config-examples"])
def test_converted_configs_parse_back_to_the_same_ir(paths: list[Path]) -> None:
    project, _ = load(paths, environ={})
    assert parse(print_project(project)) == project


@pytest.mark.parametrize("config", sorted((SHARED / "sparkle-configs").glob("*_*.json")), ids=lambda p: p.stem)
def test_convert_command(config: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / f"{config.stem}.spk"
    assert cli("convert", config, "-o", out).code == 0
    converted, _ = load([out])
    original, _ = load([config])
    assert converted == original
    assert cli("fmt", "--check", out).code == 0


def test_fmt_rewrites_in_place_and_keeps_comments(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    messy = tmp_path / "messy.spk"
    messy.write_text('# header\npipeline p {   env   prod\n # the wait\n task a=wait 60s   # a minute\n}\n')
    assert cli("fmt", "--check", messy).code == 1
    assert cli("fmt", messy).code == 0
    assert messy.read_text() == (
        "# header\npipeline p {\n  env prod\n\n  # the wait\n  task a = wait 1m  # a minute\n}\n")
    assert cli("fmt", "--check", messy).code == 0


@pytest.mark.parametrize("example", DSL_EXAMPLES, ids=lambda path: path.stem)
def test_fmt_keeps_a_comment_after_any_line_of_code_on_that_line(example: Path) -> None:
    """A comment after every line of code of a formatted example (outside multi-line strings) is still after
    that code once formatted: none moves to a line of its own, none swallows a brace."""
    lines, wanted, in_string = [], {}, False
    for number, line in enumerate(example.read_text().splitlines()):
        if line.count('"""') % 2:
            in_string = not in_string
        elif line.strip() and "#" not in line and not in_string:
            wanted[f"c{number}"] = " ".join(line.split())
            line += f"  # c{number}"
        lines.append(line)
    formatted = format_text("\n".join(lines) + "\n")
    found = {}
    for line in formatted.splitlines():
        code, mark, comment = line.rpartition("  # ")
        if mark and comment in wanted:
            found[comment] = " ".join(code.split())
    assert len(wanted) > 10 and found == wanted
    assert format_text(formatted) == formatted


def test_fmt_reports_syntax_errors_without_touching_the_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken.spk"
    broken.write_text("pipeline p {\n  task a = wait 1s\n")
    result = cli("fmt", broken)
    assert result.code == 1 and "E121" in result.err
    assert broken.read_text() == "pipeline p {\n  task a = wait 1s\n"


def test_conditions_keep_their_grouping() -> None:
    text = """pipeline p {
  param a: int = 1
  param b: string = "x"

  task t = wait 1s

  if ((a > 1 or b == "y") and not (a is set and b != "z")) or t.status == "ok" as g after t {
    task w = wait 1s
  }
}
"""
    branch = parse(text).pipelines[0].steps[1]
    assert isinstance(branch, ir.Branch)
    condition = branch.condition
    assert isinstance(condition, ir.AnyOf) and len(condition.conditions) == 2
    first, second = condition.conditions
    assert isinstance(first, ir.AllOf) and isinstance(first.conditions[0], ir.AnyOf)
    assert isinstance(first.conditions[1], ir.Not) and isinstance(first.conditions[1].condition, ir.AllOf)
    assert second == ir.Compare(left=ir.TaskResult(task="t", field="status"), op="==", right="ok")
    assert format_text(text) == text


def test_strings_names_and_values() -> None:
    text = r'''pipeline `odd name` {
  description "tab\there, quote \" and unicode ünï"
  tags { "cost-center": "cc-1", team: "a" }

  param items: list<string> = ["x", "y"]

  source select = `my catalog`.sales.orders

  task write = from select
      | replace_values(replacements: { status: { "n/a": null, "-": "none" } })
      | fill_nulls(fill_values: { amount: 0.5 })

  task run = script """print("hello")
print('world')"""
}
'''
    pipeline = parse(text).pipelines[0]
    assert pipeline.name == "odd name" and pipeline.description == 'tab\there, quote " and unicode ünï'
    assert pipeline.datasets[0].catalog == "my catalog" and pipeline.datasets[0].name == "select"
    write = pipeline.steps[0]
    assert isinstance(write, ir.Transform) and write.name == "write" and write.input == "select"
    assert write.steps[0] == tf.ReplaceValues(replacements=(
        tf.Replacement(column="status", old="n/a", new=None), tf.Replacement(column="status", old="-", new="none")))
    script = pipeline.steps[1]
    assert isinstance(script, ir.Script) and script.source == "print(\"hello\")\nprint('world')"
    assert format_text(text) == text


def test_spans_point_at_names() -> None:
    project = parse("pipeline p {\n  task first = wait 1s\n}\n", "p.spk")
    task = project.pipelines[0].steps[0]
    assert task.span == ir.Span(file="p.spk", line=2, column=8, end_line=2, end_column=13)


def test_every_ir_field_is_reachable_from_the_language() -> None:
    """Printing the examples and generated IR covers every task kind the IR has."""
    kinds = {type(step).__name__ for path in DSL_EXAMPLES for p in parse(path.read_text()).pipelines
             for step in ir.tasks.walk(p.steps)}
    assert {"Ingest", "Transform", "Write", "QualityCheck", "Train", "SelectModel", "Container", "Script",
            "Notify", "Wait", "ForEach", "Branch", "Score", "KubernetesResource", "Approval"} <= kinds


EXPECTED = {
    "bad_cron.spk": ("E210", 2, 3),
    "bad_env.spk": ("E109", 2, 7),
    "bad_parameter_type.spk": ("E207", 2, 9),
    "bad_transformer_choice.spk": ("E112", 3, 61),
    "chain_without_from.spk": ("E125", 3, 12),
    "comparison_type.spk": ("E207", 3, 6),
    "cycle.spk": ("E203", 2, 8),
    "duplicate_task.spk": ("E201", 3, 8),
    "duration_without_unit.spk": ("E135", 2, 17),
    "example_without_input_rows.spk": ("E218", 5, 13),
    "extra_brace.spk": ("E121", 4, 1),
    "given_twice.spk": ("E136", 6, 5),
    "group_without_name.spk": ("E134", 2, 23),
    "missing_brace.spk": ("E121", 1, 12),
    "missing_colon.spk": ("E128", 2, 15),
    "missing_comma.spk": ("E127", 2, 20),
    "missing_equals.spk": ("E124", 2, 10),
    "no_pipeline.spk": ("E139", 2, 1),
    "option_for_wrong_kind.spk": ("E137", 3, 5),
    "runtime_cannot_run_task.spk": ("E209", 3, 5),
    "semicolon.spk": ("E120", 2, 11),
    "trailing_pipe.spk": ("E126", 4, 1),
    "unknown_check.spk": ("E138", 4, 5),
    "unknown_column.spk": ("E204", 5, 55),
    "unknown_column_type.spk": ("E113", 3, 35),
    "unknown_keyword.spk": ("E122", 2, 3),
    "unknown_parameter_type.spk": ("E113", 2, 15),
    "unknown_reference.spk": ("E202", 2, 26),
    "unknown_relation.spk": ("E202", 3, 17),
    "unknown_task_kind.spk": ("E122", 2, 12),
    "unknown_transformer.spk": ("E111", 4, 9),
    "unknown_transformer_argument.spk": ("E112", 3, 36),
    "unterminated_string.spk": ("E123", 2, 19),
}


def test_every_broken_file_is_listed() -> None:
    assert sorted(p.name for p in BAD.iterdir()) == sorted(EXPECTED)
    assert len(EXPECTED) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file(name: str, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", BAD / name, "--diagnostics-format", "json")
    assert result.code == 1
    errors = [d for d in json.loads(result.err) if d["severity"] == "error"]
    assert len(errors) == 1, errors
    assert (errors[0]["code"], errors[0]["line"], errors[0]["column"]) == EXPECTED[name]
    assert errors[0].get("help") or errors[0]["code"] in ("E201", "E203", "E207", "E210"), "syntax errors teach"


@pytest.mark.parametrize(("text", "suggestion"), [
    ("pipeline p { tsk a = wait 1s }", "did you mean `task`?"),
    ("pipeline p { task a = wiat 1s }", "did you mean `wait`?"),
    ("pipeline p { schedul \"0 1 * * *\" }", "did you mean `schedule`?"),
    ("pipeline p { env dev task a = notify \"x\" { mesage \"hi\" } }", "did you mean `message`?"),
])
def test_unknown_keywords_suggest_the_closest(text: str, suggestion: str) -> None:
    with pytest.raises(FrontendError) as error:
        parse(text)
    assert error.value.diagnostics[0].help == suggestion


def test_the_readme_tour_compiles() -> None:
    import re

    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    blocks = [body for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", readme, re.S | re.M)
              if lang == "" and re.search(r"^pipeline \w+ \{", body, re.M)]
    assert blocks
    for block in blocks:
        project = parse(block, "README.md")
        assert [d for d in verify(project) if d.is_error] == []


def test_parser_tables_are_cached_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sparklec.grammar import lalr_parser

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = lalr_parser("json", propagate_positions=True)
    cache = tmp_path / "sparklec" / "json.lark-tables"
    written = cache.stat().st_mtime_ns
    second = lalr_parser("json", propagate_positions=True)
    assert cache.stat().st_mtime_ns == written
    assert first.parse('{"a": [1]}') == second.parse('{"a": [1]}')
    cache.write_bytes(cache.read_bytes()[:100])  # cut short, as by a crash while writing: built again
    assert lalr_parser("json", propagate_positions=True).parse('{"a": [1]}') == first.parse('{"a": [1]}')
    assert cache.stat().st_size > 100


@pytest.mark.parametrize("name", sorted(tf.CATALOGUE))
def test_every_transformer_prints_and_parses_back(name: str) -> None:
    """Each catalogue transformer with its sample parameters, in a chain over a source of the sample columns:
    printed as .spk and parsed back, the same op, and the pipeline still verifies."""
    from test_transformers import PARAMS, RELATIONS

    sources = "".join(f"  source {relation} = b.{relation} {{ columns {{ "
                      f"{', '.join(f'{c.name}: {c.type}' for c in columns)} }} }}\n"
                      for relation, (columns, _) in RELATIONS.items())
    project = parse(f"pipeline p {{\n{sources}  task t = from raw | drop_exact_duplicates\n}}\n")
    [pipeline] = project.pipelines
    [task] = [s for s in pipeline.steps if isinstance(s, ir.Transform)]
    op = tf.build_op(name, PARAMS[name])
    changed = attrs.evolve(project, pipelines=(attrs.evolve(pipeline, steps=tuple(
        attrs.evolve(s, steps=(op,)) if s is task else s for s in pipeline.steps)),))
    again = parse(print_project(changed))
    assert again == changed
    verify(again)
