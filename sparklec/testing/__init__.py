"""Hypothesis strategies that generate valid IR, for property tests of passes and backends.

`projects()` draws whole projects; `pipelines()` draws one pipeline with a
random DAG (chains, diamonds, non-series-parallel shapes), loops, branches,
transformer chains whose every column exists, checks and policies.  Every
drawn value passes `sparklec.ir.verify.verify` without errors::

    from hypothesis import given
    from sparklec.testing import projects

    @given(projects())
    def test_my_backend_accepts_everything(project):
        my_backend.lower(project, {})

Requires the ``hypothesis`` package (installed with ``sparklec[test]``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import attrs
from hypothesis import strategies as st

from sparklec.ir import (
    AcceptedValues, AllOf, Approval, Artifact, Branch, Column, Compare, Condition, Container, CustomEventTrigger,
    Dataset, Exposure, ForEach, GitHubTrigger, Ingest, KafkaTrigger, KubernetesResource, NotNull, Notify,
    ObjectCreatedTrigger, Parameter, ParamRef, Pipeline, Policy, Project, QualityCheck, Resources, Retry, RowCount,
    RunSql, Schedule, Score, Script, SelectModel, Setting, SqsTrigger, Step, Task, TaskResult, Train, Transform,
    Unique, Wait, WebhookTrigger, Write,
)
from sparklec.ir import transformers as tf
from sparklec.ir.tasks import AnyTask, kind_name
from sparklec.ir.policy import ARTIFACT_STORES, RUNTIMES, can_run
from sparklec.ir.transformers import Schema

Draw = Callable[[st.SearchStrategy[Any]], Any]

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
TEXT = st.characters(exclude_categories=("Cs", "Cc"), include_characters="\t\n\r")
"""Characters a pipeline's text may hold (see `sparklec.frontends.limits`)."""
_WORD = st.builds(str.__add__, st.sampled_from(_LETTERS), st.text(_LETTERS + "0123456789", max_size=7))
TRIGGERS = st.one_of(
    st.builds(ObjectCreatedTrigger, store=st.sampled_from(("s3", "minio", "gcs")), bucket=_WORD,
              prefix=st.just("incoming/")),
    st.builds(KafkaTrigger, topic=_WORD, brokers=st.just("kafka:9092")),
    st.builds(WebhookTrigger, endpoint=st.just("/run")),
    st.builds(SqsTrigger, queue=_WORD),
    st.builds(GitHubTrigger, owner=_WORD, repository=_WORD),
    st.builds(CustomEventTrigger, source=st.just("company.orders"), detail_type=st.just("OrderPlaced")),
)
COLUMN_TYPES = ("string", "bigint", "int", "double", "boolean", "date", "timestamp", "decimal(18,2)")


def _names(draw: Draw, count: int, taken: set[str]) -> list[str]:
    """`count` fresh identifiers not in `taken` (which they are added to)."""
    names = []
    for _ in range(count):
        name = f"{draw(_WORD)}_{len(taken)}"
        while name in taken:
            name += "_"
        taken.add(name)
        names.append(name)
    return names


@st.composite
def schemas(draw: Draw, min_columns: int = 2, max_columns: int = 6) -> Schema:
    """Columns with distinct names and random types (always at least one string column)."""
    count = draw(st.integers(min_columns, max_columns))
    names = _names(draw, count, set())
    types = ["string"] + [draw(st.sampled_from(COLUMN_TYPES)) for _ in names[1:]]
    return tuple(Column(name=n, type=t) for n, t in zip(names, types, strict=True))


def _fresh(draw: Draw, schema: Schema) -> str:
    existing = {c.name for c in schema}
    return _names(draw, 1, existing)[0]


def _some(draw: Draw, names: list[str]) -> tuple[str, ...]:
    return tuple(draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True)))


@st.composite
def ops(draw: Draw, schema: Schema, deterministic: bool = False,
        hashes: tuple[str, ...] = ("md5", "sha256", "sha512")) -> tf.Op:
    """One transformer op that is valid on `schema`.

    `deterministic` leaves out ops whose result depends on the clock or on
    ties (audit timestamps, row numbers); `hashes` are the algorithms to use.
    """
    names = [c.name for c in schema]
    strings = [c.name for c in schema if c.type == "string"]
    temporal = [c.name for c in schema if c.type in ("date", "timestamp")]
    audit_free = not set(tf.AUDIT_COLUMNS) & set(names)
    choices: list[Callable[[], tf.Op]] = [
        lambda: tf.DropExactDuplicates(),
        lambda: tf.DropNullRows(columns=_some(draw, names), how=draw(st.sampled_from(("any", "all")))),
        lambda: tf.FilterByCondition(condition=f"{draw(st.sampled_from(names))} IS NOT NULL"),
        lambda: tf.AddHashKey(source_columns=_some(draw, names), target_column=_fresh(draw, schema),
                              algorithm=draw(st.sampled_from(hashes))),
        lambda: tf.AddBusinessKey(key_columns=_some(draw, names), target_column=_fresh(draw, schema)),
        lambda: tf.Aggregate(group_by=_some(draw, names), measures=(
            tf.Measure(name=_fresh(draw, schema), expression="count(*)"),)),
        lambda: tf.AddPercentileRank(partition_by=_some(draw, names), order_by=_some(draw, names),
                                     target_column=_fresh(draw, schema)),
        lambda: tf.MarkInvalidRows(condition=f"{draw(st.sampled_from(names))} IS NULL",
                                   invalid_column=_fresh(draw, schema)),
        lambda: tf.RollupAggregation(group_by=_some(draw, names), agg_column=draw(st.sampled_from(names)),
                                     agg_func="count"),
    ]
    if strings:
        choices += [
            lambda: tf.StandardizeNulls(columns=_some(draw, strings), trim=draw(st.booleans())),
            lambda: tf.TrimAndCleanStrings(columns=_some(draw, strings)),
            lambda: tf.NormalizeCase(columns=_some(draw, strings), case=draw(st.sampled_from(("upper", "lower")))),
            lambda: tf.CleanEmailAddresses(columns=(draw(st.sampled_from(strings)),)),
            lambda: tf.FillNulls(fill_values=(tf.FillValue(column=draw(st.sampled_from(strings)), value="n/a"),)),
            lambda: tf.MaskColumn(columns=(draw(st.sampled_from(strings)),), visible_chars=draw(st.integers(0, 6))),
            lambda: tf.ValidateLength(column=draw(st.sampled_from(strings)), min_length=draw(st.integers(0, 3)),
                                      max_length=draw(st.none() | st.integers(3, 9)),
                                      flag_column=draw(st.none() | st.just(_fresh(draw, schema)))),
        ]
    if temporal:
        choices.append(lambda: tf.AddDateComponents(date_column=draw(st.sampled_from(temporal)),
                                                    prefix=f"{_fresh(draw, schema)}_"))
    if not deterministic:
        choices.append(lambda: tf.AddRowNumber(order_by=(draw(st.sampled_from(names)),),
                                               column_name=_fresh(draw, schema)))
        choices.append(lambda: tf.AddNtile(order_by=(draw(st.sampled_from(names)),), n=draw(st.integers(1, 5)),
                                           target_column=_fresh(draw, schema)))
    if audit_free and not deterministic:
        choices.append(lambda: tf.AddAuditColumns(user=draw(_WORD)))
    if len(names) > 2:
        choices.append(lambda: tf.RemovePiiColumns(columns=(draw(st.sampled_from(names[1:])),)))
    make: Callable[[], tf.Op] = draw(st.sampled_from(choices))
    return make()


@st.composite
def chains(draw: Draw, schema: Schema | None, max_ops: int = 5, deterministic: bool = False,
           hashes: tuple[str, ...] = ("md5", "sha256", "sha512")) -> tuple[tuple[tf.Op, ...], Schema | None]:
    """A transformer chain valid on `schema`, and the schema it produces (None if unknown)."""
    steps = []
    for _ in range(draw(st.integers(0, max_ops))):
        if schema is None:
            steps.append(tf.DropExactDuplicates())
            continue
        op = draw(ops(schema, deterministic, hashes))
        steps.append(op)
        schema = op.output_columns(schema)
    return tuple(steps), schema


_RETRIES = st.builds(
    Retry, limit=st.integers(0, 5), interval=st.integers(1, 600), backoff=st.sampled_from((1.0, 1.5, 2.0)),
    max_delay=st.none() | st.integers(600, 3600), on=st.sampled_from((("all",), ("timeout", "task_failed"))),
)
_RESOURCES = st.builds(
    Resources, cpu_request=st.sampled_from(("1", "2", "500m")), memory_request=st.sampled_from(("1Gi", "4Gi")),
)
POLICIES = st.just(Policy()) | st.builds(
    Policy, retry=st.none() | _RETRIES, timeout=st.none() | st.integers(1, 86_400),
    resources=st.none() | _RESOURCES, runtime=st.none() | st.sampled_from(RUNTIMES),
)
"""Task policies: mostly empty (inherit the defaults), otherwise random retries, timeouts and resources."""


TASK_KINDS = ("transform", "transform", "write", "check", "container", "notify", "wait", "script", "sql", "approval",
              "ingest", "score", "train", "k8s")
"""The kinds of task the strategies draw (a transform twice as often as the others)."""


class _PipelineBuilder:
    """Draws steps one by one; each may wait for any earlier step, so every DAG shape occurs."""

    def __init__(self, draw: Draw, kinds: Collection[str] | None = None):
        self.draw = draw
        self.kinds = [k for k in TASK_KINDS if kinds is None or k in kinds] or ["wait"]
        self.taken: set[str] = set()
        self.datasets: list[Dataset] = []
        self.relations: dict[str, Schema | None] = {}
        self.parameters: list[Parameter] = []
        self.artifacts: list[str] = []
        self.trained: list[str] = []

    def name(self) -> str:
        return _names(self.draw, 1, self.taken)[0]

    def dataset(self, with_columns: bool) -> Dataset:
        columns = self.draw(schemas()) if with_columns else ()
        dataset = Dataset(name=self.name(), schema=self.draw(_WORD), table=self.draw(_WORD), columns=columns)
        self.datasets.append(dataset)
        self.relations[dataset.name] = columns or None
        return dataset

    def task(self, after: tuple[str, ...], nested: bool) -> AnyTask:
        """A random task whose runtime, if it has one, can run it."""
        task = self._task(after, nested)
        runtime = task.policy.runtime
        if runtime is not None and not can_run(runtime, kind_name(task)):
            task = attrs.evolve(task, policy=attrs.evolve(task.policy, runtime=None))
        return task

    def _task(self, after: tuple[str, ...], nested: bool) -> AnyTask:
        draw = self.draw
        name = self.name()
        policy = draw(POLICIES)
        relations = sorted(self.relations)
        kind = draw(st.sampled_from(self.kinds))
        if kind == "ingest" and not nested:
            columns = draw(st.none() | schemas())
            self.relations[name] = columns
            return Ingest(name=name, after=after, policy=policy, ingestor="jdbc_postgres", source=draw(_WORD),
                          columns=columns or (), options=(Setting(key="fetchSize", value=1000),))
        if kind in ("score", "train") and relations and not nested:
            relation = draw(st.sampled_from(relations))
            if kind == "score":
                schema = self.relations[relation]
                if schema is not None and "prediction" in {c.name for c in schema}:
                    return Wait(name=name, after=after, policy=policy, seconds=1)
                self.relations[name] = None if schema is None else schema + (Column(name="prediction"),)
                return Score(name=name, after=after, policy=policy, input=relation, model_name="churn")
            self.trained.append(name)
            return Train(name=name, after=after, policy=policy, input=relation, model_name="churn",
                         algorithm="xgboost")
        if kind == "k8s":
            return KubernetesResource(name=name, after=after, policy=policy, action="apply",
                                      manifest="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
        if kind in ("write", "check") and relations and not nested:
            relation = draw(st.sampled_from(relations))
            schema = self.relations[relation]
            if kind == "write":
                target = self.dataset(with_columns=False)
                mode = draw(st.sampled_from(("append", "overwrite", "merge", "incremental")))
                self.relations[target.name] = schema  # its one writer refuses other columns
                keys = (schema[0].name,) if schema else ("id",)
                return Write(name=name, after=after, policy=policy, input=relation, target=target.name, mode=mode,
                             unique_key=keys if mode == "merge" else ())
            column = schema[0].name if schema else "id"
            checks = (NotNull(column_names=(column,)), Unique(column_names=(column,)),
                      AcceptedValues(column=column, values=("a", "b")), RowCount(minimum=1))
            return QualityCheck(name=name, after=after, policy=policy, input=relation,
                                checks=tuple(draw(st.lists(st.sampled_from(checks), min_size=1, max_size=3))))
        if kind == "transform" and not nested:
            source = draw(st.sampled_from(relations)) if relations else self.dataset(draw(st.booleans())).name
            steps, schema = draw(chains(self.relations[source]))
            self.relations[name] = schema
            return Transform(name=name, after=after, policy=policy, input=source, steps=steps)
        simple: dict[str, Callable[[], AnyTask]] = {
            "container": lambda: self.container(name, after, policy, nested),
            "notify": lambda: Notify(name=name, after=after, policy=policy, channel="slack://data-alerts",
                                     message=draw(st.text(TEXT, max_size=20))),
            "script": lambda: Script(name=name, after=after, policy=policy, source="print('hello')"),
            "sql": lambda: RunSql(name=name, after=after, policy=policy, statements=("SELECT 1",)),
            "approval": lambda: Approval(name=name, after=after, policy=policy, prompt="Continue?"),
        }
        return simple.get(kind, lambda: Wait(name=name, after=after, policy=policy, seconds=draw(st.integers(0, 60))))()

    def container(self, name: str, after: tuple[str, ...], policy: Policy, nested: bool) -> Container:
        """A container that writes an artifact and, at the top level, may read one an earlier one wrote."""
        inputs: tuple[Artifact, ...] = ()
        if self.artifacts and not nested and self.draw(st.booleans()):
            producer = self.draw(st.sampled_from(self.artifacts))
            inputs = (Artifact(name="input", path="/tmp/input", source=f"{producer}.result"),)
            after = tuple(dict.fromkeys((*after, producer)))
        store = self.draw(st.sampled_from(ARTIFACT_STORES))
        outputs = (Artifact(name="result", path="/tmp/result", store=store, location=f"{store}://bucket/{name}"),)
        if not nested:
            self.artifacts.append(name)
        return Container(name=name, after=after, policy=policy, image="python:3.12-slim",
                         command=("python", "-c", "print('ok')"), inputs=inputs, outputs=outputs)

    def steps(self, count: int, nested: bool, depth: int) -> tuple[Step, ...]:
        draw = self.draw
        steps: list[Step] = []
        for _ in range(count):
            earlier = [s.name for s in steps]
            after = tuple(draw(st.lists(st.sampled_from(earlier), max_size=3, unique=True))) if earlier else ()
            group = draw(st.integers(0, 9)) if depth < 2 else 9
            if group == 0:
                var = draw(_WORD)
                body = self.steps(draw(st.integers(1, 3)), True, depth + 1)
                items: tuple[int, ...] | None = tuple(draw(st.lists(st.integers(0, 99), min_size=1, max_size=4)))
                items_param = None
                if draw(st.booleans()):
                    items_param, items = self.name(), None
                    self.parameters.append(Parameter(name=items_param, type="list<int>", default=(1, 2)))
                steps.append(ForEach(name=self.name(), var=var, items=items, items_param=items_param, body=body,
                                     after=after, max_concurrency=draw(st.none() | st.integers(1, 10))))
            elif group == 1:
                param, value = self.parameter()
                condition: Condition = Compare(left=ParamRef(name=param.name), op=draw(st.sampled_from(("==", "!="))),
                                               right=value)
                tasks = [s.name for s in steps if isinstance(s, Task)]
                if tasks and draw(st.booleans()):
                    upstream = draw(st.sampled_from(tasks))
                    after = tuple(dict.fromkeys((*after, upstream)))
                    condition = AllOf(conditions=(condition, Compare(
                        left=TaskResult(task=upstream, field="status"), op="==", right="succeeded")))
                then = self.steps(draw(st.integers(1, 2)), True, depth + 1)
                otherwise = self.steps(draw(st.integers(0, 2)), True, depth + 1)
                steps.append(Branch(name=self.name(), condition=condition, then=then, otherwise=otherwise, after=after))
            else:
                steps.append(self.task(after, nested))
        return tuple(steps)

    def parameter(self) -> tuple[Parameter, str]:
        """A new string parameter and a value to compare it with."""
        value: str = self.draw(st.sampled_from(("dev", "prod")))
        parameter = Parameter(name=self.name(), type="string", default=value)
        self.parameters.append(parameter)
        return parameter, value


@st.composite
def pipelines(draw: Draw, max_steps: int = 10, name: str | None = None, kinds: Collection[str] | None = None
              ) -> Pipeline:
    """One valid pipeline with a random DAG of up to `max_steps` top-level steps; with `kinds` (of
    `TASK_KINDS`), only tasks of those kinds, and waits where a kind cannot be drawn."""
    builder = _PipelineBuilder(draw, kinds)
    pipeline_name = name or builder.name()
    builder.dataset(with_columns=True)
    steps = builder.steps(draw(st.integers(1, max_steps)), False, 0)
    if builder.trained:
        steps += (SelectModel(name=builder.name(), model_name="churn", candidates=tuple(builder.trained)),)
    relations = sorted(builder.relations)
    schedules = draw(st.lists(st.sampled_from(("0 2 * * *", "*/15 * * * *", "0 0 1 * *")), max_size=2, unique=True))
    return Pipeline(
        name=pipeline_name, env=draw(st.sampled_from(("dev", "qa", "prod"))), parameters=tuple(builder.parameters),
        schedules=tuple(Schedule(cron=c) for c in schedules), defaults=draw(POLICIES),
        datasets=tuple(builder.datasets), steps=steps,
        alerts=tuple(draw(st.lists(st.sampled_from(("slack://alerts", "email://team@example.com")), unique=True))),
        triggers=tuple(draw(st.lists(TRIGGERS, max_size=2))),
        tags=tuple(Setting(key=k, value=v) for k, v in sorted(draw(st.dictionaries(_WORD, _WORD, max_size=3)).items())),
        exposures=tuple(
            Exposure(name=builder.name(), type="dashboard", depends_on=(draw(st.sampled_from(relations)),),
                     url="https://bi.example.com/d", owner_name="data", owner_email="data@example.com")
            for _ in range(draw(st.integers(0, 1)))
        ),
        on_failure=tuple(Notify(name=builder.name(), channel="slack://alerts", message="failed")
                         for _ in range(draw(st.integers(0, 1)))),
    )


@st.composite
def projects(draw: Draw, max_pipelines: int = 3, max_steps: int = 10, kinds: Collection[str] | None = None
             ) -> Project:
    """A project of pipelines, each possibly depending on earlier ones (`kinds` as `pipelines` takes them)."""
    count = draw(st.integers(1, max_pipelines))
    built: list[Pipeline] = []
    for index in range(count):
        pipeline = draw(pipelines(max_steps=max_steps, name=f"{draw(_WORD)}_{index}", kinds=kinds))
        if built:
            upstream = draw(st.lists(st.sampled_from([p.name for p in built]), max_size=2, unique=True))
            pipeline = attrs.evolve(pipeline, depends_on=tuple(upstream))
        built.append(pipeline)
    return Project(name=built[0].name if count == 1 else "project", pipelines=tuple(built))


def on_default_runtime(pipeline: Pipeline) -> Pipeline:
    """`pipeline` with every task, and its defaults, on the target's own runtime (no `runtime` set)."""

    def level(steps: tuple[Step, ...]) -> tuple[Step, ...]:
        result: list[Step] = []
        for step in steps:
            if isinstance(step, ForEach):
                step = attrs.evolve(step, body=level(step.body))
            elif isinstance(step, Branch):
                step = attrs.evolve(step, then=level(step.then), otherwise=level(step.otherwise))
            else:
                step = attrs.evolve(step, policy=attrs.evolve(step.policy, runtime=None))
            result.append(step)
        return tuple(result)

    return attrs.evolve(pipeline, steps=level(pipeline.steps), defaults=attrs.evolve(pipeline.defaults, runtime=None))
