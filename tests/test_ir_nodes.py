"""Every IR node: immutable, spans outside equality, evolvable, JSON round-trip."""

from __future__ import annotations

import attrs
import pytest

from sparklec import ir
from sparklec.ir import transformers as tf
from sparklec.ir.serialize import KINDS, from_json, to_json
from sparklec.ir.tasks import kind_name, walk
from sparklec.ir.values import format_duration, normalize_type, parse_duration

SPAN = ir.Span(file="p.json", line=3, column=5, end_line=3, end_column=9)
OTHER_SPAN = ir.Span(file="q.json", line=9, column=1, end_line=9, end_column=2)

SAMPLES: list[object] = [
    ir.Column(name="id", type="bigint"),
    ir.Setting(key="numPartitions", value=10),
    ir.Retry(limit=3, interval=60, backoff=2.0, max_delay=600, on=("timeout",)),
    ir.Resources(cpu_request="2", memory_request="4Gi", cpu_limit="4", memory_limit="8Gi"),
    ir.Policy(timeout=3600, runtime="glue"),
    ir.Artifact(name="data", path="/input/data.parquet", store="s3", location="s3://bucket/data.parquet"),
    ir.Parameter(name="partitions", type="list<int>", default=(0, 1, 2)),
    ir.Schedule(cron="0 2 * * *", timezone="Europe/Paris"),
    ir.ObjectCreatedTrigger(store="s3", bucket="data-bucket", prefix="data/customers/"),
    ir.KafkaTrigger(topic="orders", brokers="kafka:9092"),
    ir.WebhookTrigger(endpoint="/run"),
    ir.SnsTrigger(topic_arn="arn:aws:sns:us-east-1:123456789012:events"),
    ir.SqsTrigger(queue="incoming"),
    ir.GitHubTrigger(owner="company", repository="pipelines", events=("push", "release")),
    ir.CustomEventTrigger(source="company.orders", detail_type="OrderPlaced"),
    ir.Dataset(name="raw", schema="bronze", table="customers_raw", catalog="main", primary_key=("id",)),
    ir.Exposure(name="dash", type="dashboard", depends_on=("raw",), url="https://bi.example.com"),
    ir.CustomTransformer(name="upper_name", sql="upper(name)"),
    ir.Ingest(name="ingest", ingestor="jdbc_postgres", source="public.customers"),
    ir.Transform(name="clean", input="raw", steps=(tf.DropExactDuplicates(),)),
    ir.Given(relation="raw", rows=((ir.Setting(key="id", value=1),),)),
    ir.Example(name="one row", given=(ir.Given(relation="raw", rows=()),), expect=((ir.Setting(key="id", value=1),),)),
    ir.Write(name="write", input="clean", target="raw", mode="merge", unique_key=("id",)),
    ir.NotNull(column_names=("id",)),
    ir.Unique(column_names=("id",)),
    ir.AcceptedValues(column="status", values=("a", "b")),
    ir.Relationships(column="customer_id", to="customers", field="id"),
    ir.MatchesRegex(column="phone", pattern="^[0-9]+$"),
    ir.EmailFormat(column="email"),
    ir.RowCount(minimum=1),
    ir.Freshness(column="updated_at", max_age=86400),
    ir.CustomSqlCheck(name="no_future", sql="select * from {{ input }} where d > current_date"),
    ir.QualityCheck(name="checks", input="clean", checks=(ir.RowCount(minimum=1),)),
    ir.Train(name="train", input="clean", model_name="churn", algorithm="xgboost"),
    ir.SelectModel(name="select", model_name="churn", candidates=("train",)),
    ir.Score(name="score", input="clean", model_name="churn"),
    ir.RunSql(name="vacuum", statements=("VACUUM t",)),
    ir.Notify(name="notify", channel="slack://alerts", message="done"),
    ir.Container(name="run", image="python:3.12-slim", command=("python", "-V")),
    ir.Script(name="script", source="print(1)"),
    ir.KubernetesResource(name="cm", action="create", manifest="apiVersion: v1\nkind: ConfigMap\n"),
    ir.Approval(name="approve", prompt="Publish?"),
    ir.Wait(name="pause", seconds=30),
    ir.ParamRef(name="environment"),
    ir.TaskResult(task="checks", field="status"),
    ir.Compare(left=ir.ParamRef(name="environment"), op="==", right="prod"),
    ir.IsSet(operand=ir.ParamRef(name="environment")),
    ir.AllOf(conditions=(ir.IsSet(operand=ir.ParamRef(name="a")),)),
    ir.AnyOf(conditions=(ir.IsSet(operand=ir.ParamRef(name="a")),)),
    ir.Not(condition=ir.IsSet(operand=ir.ParamRef(name="a"))),
    ir.ForEach(name="each", var="p", items=(1, 2), body=(ir.Wait(name="w", seconds=1),), max_concurrency=2),
    ir.Branch(name="if_prod", condition=ir.IsSet(operand=ir.ParamRef(name="a")), then=(ir.Wait(name="x", seconds=1),)),
    ir.Pipeline(name="p", env="prod"),
    ir.Project(name="p", pipelines=(ir.Pipeline(name="p"),)),
    tf.Replacement(column="c", old="x", new="y"),
    tf.FillValue(column="c", value=0),
    tf.Measure(name="n", expression="count(*)"),
    tf.CustomOp(transformer="upper_name"),
    *(tf.build_op(name, {}) for name in ("drop_exact_duplicates", "add_audit_columns")),
    tf.DropDuplicatesByKey(key_columns=("id",), order_by=("ts",)),
    tf.FilterByCondition(condition="x > 1"),
    tf.DropNullRows(),
    tf.RemoveOutliersIqr(column="amount"),
    tf.StandardizeNulls(),
    tf.TrimAndCleanStrings(),
    tf.NormalizeCase(columns=("s",)),
    tf.RemoveSpecialCharacters(columns=("s",)),
    tf.ReplaceValues(replacements=(tf.Replacement(column="c", old="x", new="y"),)),
    tf.FillNulls(fill_values=(tf.FillValue(column="c", value=0),)),
    tf.CoalesceColumns(target_column="t", source_columns=("a", "b")),
    tf.CleanEmailAddresses(columns=("email",)),
    tf.CleanPhoneNumbers(columns=("phone",), country_code="+1"),
    tf.AddIngestionMetadata(source="crm"),
    tf.AddHashKey(source_columns=("a",)),
    tf.AddBusinessKey(key_columns=("a",)),
    tf.AddSurrogateKey(key_columns=("a",)),
    tf.AddDateComponents(date_column="d"),
    tf.AddRowNumber(order_by=("d",)),
    tf.AddRank(order_by=("d",), dense=True),
    tf.AddAgeFromBirthdate(birthdate_column="born"),
    tf.AddTenureMonths(start_date_column="joined"),
    tf.Aggregate(group_by=("d",), measures=(tf.Measure(name="n", expression="count(*)"),)),
    tf.AddRunningTotal(order_by=("d",), column="amount"),
    tf.AddMovingAverage(order_by=("d",), column="amount", window_size=7),
    tf.AddLagLeadColumns(order_by=("d",), column="amount", periods=2),
    tf.AddNtile(partition_by=("a",), order_by=("d",), n=4, target_column="quartile"),
    tf.AddPercentileRank(order_by=("amount",)),
    tf.ValidateRange(column="amount", min_value=0, flag_column="ok"),
    tf.ValidateLength(column="a", max_length=8),
    tf.ValidatePattern(column="email", pattern="@", flag_column="has_at"),
    tf.MarkInvalidRows(condition="amount < 0"),
    tf.EnforceNotNull(columns=("a",), default_value="?"),
    tf.SelectColumns(columns=("a", "d")),
    tf.SplitDelimitedColumn(column="a", delimiter=".", target_columns=("first", "second")),
    tf.AddValidationFlags(rules=(tf.Measure(name="positive", expression="amount > 0"),)),
    tf.AggregateByKey(group_by=("d",), measures=(tf.Measure(name="n", expression="count(*)"),)),
    tf.RollupAggregation(group_by=("a", "d"), agg_column="amount"),
    tf.CubeAggregation(group_by=("a",), agg_column="amount", agg_func="avg"),
    tf.MaskColumn(columns=("card",)),
    tf.TokenizeColumn(columns=("ssn",), salt="pepper"),
    tf.RedactEmail(columns=("email",)),
    tf.RemovePiiColumns(columns=("ssn",)),
    tf.ScdType2(business_key=("id",)),
    tf.ApplyScdType3(order_by=("d",), columns_to_track=("email",)),
    tf.CloseScdRecords(end_date="2025-11-19"),
    tf.AnonymizeWithLookup(column="a", lookup_dict=(("C1", "X1"),)),
    tf.PivotTable(index=("a",), columns="d", values="amount", pivot_values=("2024", 7)),
    tf.SplitValidInvalid(keep="invalid"),
    tf.ExtractJsonField(json_column="j", json_path="$.a[0]", target_column="t"),
    tf.ParseJsonColumn(json_column="j", schema=(ir.Column(name="x", type="bigint"),)),
    tf.ExplodeArrayColumn(array_column="tags", keep_position=True),
    tf.FlattenStructColumn(struct_column="address", separator="__"),
    tf.DeduplicateArrayColumn(column="tags"),
    tf.RemoveEmptyArrays(column="tags"),
    tf.PerformLookup(lookup_table="segments", join_columns=("id",), select_columns=("segment",), how="inner"),
    tf.ApplyScdType1(target_table="dim", key_columns=("id",)),
    tf.ApplyScdType2(key_columns=("id",), compare_columns=("email",), version_column=None),
    tf.AddWindowFeatures(order_by=("d",), columns=("amount",), lags=(1, 7), time_windows=("1d",)),
]


def test_every_node_kind_has_a_sample() -> None:
    assert {type(s).__name__ for s in SAMPLES} == set(KINDS)


@pytest.mark.parametrize("node", SAMPLES, ids=lambda n: type(n).__name__)
def test_node_is_frozen_and_round_trips(node: object) -> None:
    field = attrs.fields(type(node))[0]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(node, field.name, getattr(node, field.name))
    assert from_json(to_json(node)) == node
    assert hash(node) == hash(from_json(to_json(node)))


@pytest.mark.parametrize("node", [s for s in SAMPLES if "span" in attrs.fields_dict(type(s))],
                         ids=lambda n: type(n).__name__)
def test_span_does_not_take_part_in_equality(node: object) -> None:
    here = attrs.evolve(node, span=SPAN)  # type: ignore[misc]
    there = attrs.evolve(node, span=OTHER_SPAN)  # type: ignore[misc]
    assert here == there and hash(here) == hash(there)
    assert here.span == SPAN  # type: ignore[attr-defined]
    assert "span" not in to_json(here)


def test_evolve_rewrites_without_mutating() -> None:
    task = ir.Wait(name="w", seconds=1)
    longer = attrs.evolve(task, seconds=5)
    assert (task.seconds, longer.seconds) == (1, 5)


def test_policy_inherits_unset_fields_from_defaults() -> None:
    defaults = ir.Policy(retry=ir.Retry(limit=3), timeout=60, runtime="glue")
    merged = ir.Policy(timeout=10).over(defaults)
    assert (merged.retry, merged.timeout, merged.runtime) == (defaults.retry, 10, "glue")


def test_relations_read_by_tasks() -> None:
    sql = ir.Transform(name="t", sql="select * from {{ a }} join {{b}} using (id)")
    assert sql.reads() == ("a", "b")
    check = ir.QualityCheck(name="c", input="x", checks=(
        ir.Relationships(column="k", to="y", field="id"),
        ir.CustomSqlCheck(name="s", sql="select * from {{ input }} join {{ z }} on true"),
    ))
    assert check.reads() == ("x", "y", "z")


def test_walk_visits_groups_before_their_bodies() -> None:
    inner = ir.Wait(name="inner", seconds=1)
    loop = ir.ForEach(name="loop", var="x", items=(1,), body=(inner,))
    assert [s.name for s in walk((loop,))] == ["loop", "inner"]
    assert kind_name(loop) == "foreach" and kind_name(ir.RunSql(name="s", statements=())) == "run_sql"


@pytest.mark.parametrize(("text", "expected"), [
    ("long", "bigint"), ("VARCHAR", "string"), ("decimal(10, 2)", "decimal(10,2)"), ("decimal", "decimal(38,0)"),
    ("array<int>", "array<int>"), ("map<string, long>", "map<string,bigint>"), ("decimal(2,5)", None),
    ("geometry", None), ("array<wat>", None),
])
def test_normalize_type(text: str, expected: str | None) -> None:
    assert normalize_type(text) == expected


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("10m", 600), ("1h", 3600), ("2d", 172800),
                                               ("5ms", None), ("1x", None), ("", None)])
def test_durations(text: str, seconds: int | None) -> None:
    assert parse_duration(text) == seconds
    if seconds:
        assert parse_duration(format_duration(seconds)) == seconds
