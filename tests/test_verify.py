"""The verifier: each kind of problem is found, reported with its code, and valid IR passes."""

from __future__ import annotations

import attrs
import pytest

from sparklec import ir
from sparklec.ir import transformers as tf
from sparklec.ir.graph import StepGraph, flat_graph, levels
from sparklec.ir.transformers.aggregation import as_measures
from sparklec.ir.verify import verify

SPAN = ir.Span(file="p.spk", line=7, column=3, end_line=7, end_column=9)
SOURCE = ir.Dataset(name="raw", schema="bronze", table="raw", columns=(
    ir.Column(name="id", type="bigint"), ir.Column(name="email", type="string"),
    ir.Column(name="updated_at", type="timestamp"),
))
TARGET = ir.Dataset(name="clean_table", schema="silver", table="clean")


def pipeline(*steps: ir.Step, **fields: object) -> ir.Pipeline:
    base: dict[str, object] = {"name": "p", "datasets": (SOURCE, TARGET), "steps": steps}
    base.update(fields)
    return ir.Pipeline(**base)  # type: ignore[arg-type]


def codes(*pipelines: ir.Pipeline) -> list[str]:
    return [d.code for d in verify(ir.Project(name="x", pipelines=pipelines))]


def test_a_valid_pipeline_passes() -> None:
    clean = ir.Transform(name="clean", input="raw", steps=(
        tf.StandardizeNulls(columns=("email",)), tf.AddHashKey(source_columns=("id", "email"))))
    write = ir.Write(name="write", input="clean", target="clean_table", mode="merge", unique_key=("id",))
    assert codes(pipeline(clean, write)) == []


def row(**cells: object) -> tuple[ir.Setting, ...]:
    return tuple(ir.Setting(key=k, value=v) for k, v in cells.items())  # type: ignore[arg-type]


def given(relation: str, **cells: object) -> ir.Given:
    return ir.Given(relation=relation, rows=(row(**cells),) if cells else ())


def example(given: tuple[ir.Given, ...] = (ir.Given(relation="raw", rows=()),),
            expect: tuple[tuple[ir.Setting, ...], ...] = ()) -> ir.Transform:
    return ir.Transform(name="t", input="raw", examples=(ir.Example(name="e", given=given, expect=expect),))


CASES = [
    ("duplicate step", pipeline(ir.Wait(name="a", seconds=1), ir.Wait(name="a", seconds=2)), "E201"),
    ("step named like a dataset", pipeline(ir.Wait(name="raw", seconds=1)), "E201"),
    ("unknown after", pipeline(ir.Wait(name="a", seconds=1, after=("b",))), "E202"),
    ("unknown input", pipeline(ir.Transform(name="t", input="nope")), "E202"),
    ("reading a non-relation", pipeline(ir.Wait(name="w", seconds=1), ir.Transform(name="t", input="w")), "E202"),
    ("cycle", pipeline(ir.Wait(name="a", seconds=1, after=("b",)), ir.Wait(name="b", seconds=1, after=("a",))), "E203"),
    ("cycle through data", pipeline(
        ir.Transform(name="t", input="raw"), ir.Write(name="w", input="t", target="raw")), "E203"),
    ("unknown column", pipeline(ir.Transform(name="t", input="raw", steps=(
        tf.NormalizeCase(columns=("emial",)),))), "E204"),
    ("column removed earlier", pipeline(ir.Transform(name="t", input="raw", steps=(
        tf.RemovePiiColumns(columns=("email",)), tf.CleanEmailAddresses(columns=("email",))))), "E204"),
    ("wrong column type", pipeline(ir.Transform(name="t", input="raw", steps=(
        tf.NormalizeCase(columns=("id",)),))), "E205"),
    ("column clash", pipeline(ir.Transform(name="t", input="raw", steps=(
        tf.AddAuditColumns(),))), "E206"),
    ("write key missing", pipeline(ir.Write(name="w", input="raw", target="clean_table", mode="merge",
                                            unique_key=("customer",))), "E204"),
    ("check column missing", pipeline(ir.QualityCheck(name="q", input="raw", checks=(
        ir.NotNull(column_names=("nope",)),))), "E204"),
    ("check column missing in what one overwrite leaves", pipeline(
        ir.Write(name="w", input="raw", target="clean_table", mode="overwrite"),
        ir.QualityCheck(name="q", input="clean_table", after=("w",), checks=(ir.EmailFormat(column="mail"),))),
     "E204"),
    ("param default type", pipeline(parameters=(ir.Parameter(name="n", type="int", default="x"),)), "E207"),
    ("comparison type", pipeline(ir.Branch(name="b", condition=ir.Compare(
        left=ir.ParamRef(name="n"), op="==", right="five"), then=(ir.Wait(name="w", seconds=1),)),
        parameters=(ir.Parameter(name="n", type="int", default=1),)), "E207"),
    ("foreach over a scalar", pipeline(ir.ForEach(name="f", var="x", items_param="n", body=(ir.Wait(name="w", seconds=1),)),
                                       parameters=(ir.Parameter(name="n", type="int"),)), "E207"),
    ("unknown parameter", pipeline(ir.Branch(name="b", condition=ir.IsSet(operand=ir.ParamRef(name="x")))), "E202"),
    ("bad env", pipeline(env="production"), "E209"),
    ("bad write mode", pipeline(ir.Write(name="w", input="raw", target="clean_table", mode="upsert")), "E209"),
    ("bad runtime", pipeline(defaults=ir.Policy(runtime="lambda2")), "E209"),
    ("bad alert", pipeline(alerts=("pager://x",)), "E209"),
    ("bad cron", pipeline(schedules=(ir.Schedule(cron="0 25 * * *"),)), "E210"),
    ("short cron", pipeline(schedules=(ir.Schedule(cron="0 2 * *"),)), "E210"),
    ("negative retry", pipeline(defaults=ir.Policy(retry=ir.Retry(limit=-1))), "E211"),
    ("zero concurrency", pipeline(ir.ForEach(name="f", var="x", items=(1,), max_concurrency=0)), "E211"),
    ("empty foreach", pipeline(ir.ForEach(name="f", var="x", items=(1,))), "E209"),
    ("empty branch", pipeline(ir.Branch(name="b", condition=ir.IsSet(operand=ir.ParamRef(name="a"))),
                              parameters=(ir.Parameter(name="a"),)), "E209"),
    ("select non-training", pipeline(ir.Wait(name="w", seconds=1), ir.SelectModel(
        name="s", model_name="m", candidates=("w",))), "E213"),
    ("result not upstream", pipeline(ir.Wait(name="w", seconds=1), ir.Branch(name="b", condition=ir.Compare(
        left=ir.TaskResult(task="w", field="status"), op="==", right="ok")), parameters=()), "E214"),
    ("cross-arm dependency", pipeline(ir.Branch(
        name="b", condition=ir.IsSet(operand=ir.ParamRef(name="a")),
        then=(ir.Wait(name="x", seconds=1, after=("y",)),), otherwise=(ir.Wait(name="y", seconds=1),)),
        parameters=(ir.Parameter(name="a"),)), "E215"),
    ("merge without key", pipeline(ir.Write(name="w", input="raw", target="clean_table", mode="merge")), "E217"),
    ("example without rows for the input", pipeline(example(given=())), "E218"),
    ("example gives what is not read", pipeline(example(given=(given("raw"), given("clean_table")))), "E218"),
    ("example gives a relation twice", pipeline(example(given=(given("raw"), given("raw")))), "E218"),
    ("example names an unknown column", pipeline(example(given=(given("raw", emial="a@b.c"),))), "E204"),
    ("example expects an unknown column", pipeline(example(expect=(row(nope=1),))), "E204"),
    ("example value of the wrong type", pipeline(example(given=(given("raw", id="one"),))), "E205"),
    ("example value is a list", pipeline(example(given=(given("raw", email=("a", "b")),))), "E218"),
    ("expected rows name different columns", pipeline(example(expect=(row(id=1), row(email="x")))), "E218"),
    ("two examples of one name", pipeline(ir.Transform(name="t", input="raw", examples=(
        ir.Example(name="e", given=(given("raw"),), expect=()),) * 2)), "E201"),
]



@pytest.mark.parametrize(("pipe", "code"), [(p, c) for _, p, c in CASES], ids=[d for d, _, _ in CASES])
def test_problem_is_reported(pipe: ir.Pipeline, code: str) -> None:
    assert code in codes(pipe)


def test_suggestion_and_span() -> None:
    op = tf.NormalizeCase(columns=("emial",), span=SPAN)
    [diagnostic] = verify(ir.Project(name="x", pipelines=(pipeline(ir.Transform(name="t", input="raw", steps=(op,))),)))
    assert diagnostic.span == SPAN and diagnostic.help == "did you mean `email`?"


def test_result_of_an_upstream_task_is_fine() -> None:
    branch = ir.Branch(name="b", after=("w",), condition=ir.Compare(
        left=ir.TaskResult(task="w", field="status"), op="==", right="ok"), then=(ir.Wait(name="x", seconds=1),))
    assert codes(pipeline(ir.Wait(name="w", seconds=1), branch)) == []


def test_pipeline_dependencies() -> None:
    a = ir.Pipeline(name="a", depends_on=("b",))
    b = ir.Pipeline(name="b", depends_on=("a",))
    assert "E203" in codes(a, b)
    assert codes(ir.Pipeline(name="a", depends_on=("c",)), ir.Pipeline(name="b")) == ["W201"]
    assert codes(ir.Pipeline(name="a", depends_on=("elsewhere",))) == [], "a lone pipeline's upstreams are external"
    assert "E201" in codes(ir.Pipeline(name="a"), ir.Pipeline(name="a"))


def test_unknown_column_types_are_not_checked() -> None:
    unknown = attrs.evolve(SOURCE, columns=())
    step = ir.Transform(name="t", input="raw", steps=(tf.NormalizeCase(columns=("anything",)),))
    assert codes(pipeline(step, datasets=(unknown,))) == []


def test_custom_transformers() -> None:
    custom = (ir.CustomTransformer(name="upper_email", sql="upper(email)"),
              ir.CustomTransformer(name="dedupe", sql="select distinct * from {{ input }}"))
    expression = ir.Transform(name="t", input="raw", steps=(
        tf.CustomOp(transformer="upper_email", target_column="email_upper"), tf.NormalizeCase(columns=("email_upper",))))
    assert codes(pipeline(expression, custom_transformers=custom)) == []
    select = ir.Transform(name="t", input="raw", steps=(tf.CustomOp(transformer="dedupe"), tf.NormalizeCase(
        columns=("whatever",))))
    assert codes(pipeline(select, custom_transformers=custom)) == [], "columns after a SELECT are unknown"


def test_graph_levels_and_flattening() -> None:
    inner = ir.Wait(name="inner", seconds=1)
    loop = ir.ForEach(name="loop", var="x", items=(1,), body=(inner,), after=("first",))
    last = ir.Wait(name="last", seconds=1, after=("inner",))
    p = pipeline(ir.Wait(name="first", seconds=1), loop, last)
    top = StepGraph.of(p)
    assert set(top.edges()) == {("first", "loop"), ("loop", "last")}
    assert [g.steps.keys() for _, g in levels(p)][1] == {"inner": inner}.keys()
    flat = flat_graph(p)
    assert flat.has_edge("first", "inner") and flat.has_edge("inner", "last")


def test_a_check_on_a_column_the_chain_leaves_out_is_an_error_though_the_input_is_undeclared() -> None:
    """Over a source without declared columns: an aggregate's output is the columns it names, and a column a
    transformer removes is gone."""
    undeclared = ir.Dataset(name="loose", schema="bronze", table="loose")
    agg = ir.Transform(name="agg", input="loose", steps=(tf.Aggregate(group_by=("country",), measures=as_measures({"id": ["count"]})),))
    trimmed = ir.Transform(name="trimmed", input="loose", steps=(tf.RemovePiiColumns(columns=("email",)),))
    checks = [ir.QualityCheck(name=f"check_{relation}", input=relation, checks=(ir.EmailFormat(column="email"),))
              for relation in ("agg", "trimmed")]
    found = verify(ir.Project(name="x", pipelines=(pipeline(agg, trimmed, *checks, datasets=(undeclared,)),)))
    assert [(d.code, "`agg`" in d.message or "`trimmed`" in d.message) for d in found] == [("E204", True)] * 2
    kept = ir.QualityCheck(name="check_kept", input="agg", checks=(ir.NotNull(column_names=("country",)),))
    unknown = ir.QualityCheck(name="check_loose", input="trimmed", checks=(ir.NotNull(column_names=("phone",)),))
    assert codes(pipeline(agg, trimmed, kept, unknown, datasets=(undeclared,))) == []
