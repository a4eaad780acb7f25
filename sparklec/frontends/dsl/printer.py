"""IR → canonical `.spk` text: what `sparklec fmt` writes and `sparklec convert` produces.

The output is deterministic and `parse(print(ir)) == ir` for any valid IR:
every field that differs from its default is printed, in a fixed order.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from typing import Any

from typing_extensions import assert_never

import attrs

from sparklec.frontends.dsl.comments import Attached, Comment, attach, place_trailing
from sparklec.ir.text import check_text, condition, literal, name, names, string
from sparklec.ir import pipeline as p
from sparklec.ir import tasks as t
from sparklec.ir.policy import Artifact, Policy, Retry
from sparklec.ir.transformers import CustomOp, FillValue, Measure, Op, Replacement, parameters
from sparklec.ir.transformers.base import as_columns
from sparklec.ir.values import Column, Setting, format_duration

INDENT = "  "


def print_project(project: p.Project, comments: Sequence[Comment] = ()) -> str:
    """The canonical text of a whole project, with the source's `comments` where they were written (see
    `sparklec.frontends.dsl.comments`)."""
    pending, loose = attach(comments, _anchor_lines(project))
    blocks = []
    if len(project.pipelines) != 1 or project.name != project.pipelines[0].name:
        mine = pending.pop(project.span.line, []) if project.span is not None else []
        trailing = "".join(f"  {text}" for text, is_trailing in mine if is_trailing)
        blocks.append("".join(f"{text}\n" for text, is_trailing in mine if not is_trailing)
                      + f"project {name(project.name)}{trailing}\n")
    starts = [pl.span.line if pl.span is not None else 0 for pl in project.pipelines]
    for index, pipeline in enumerate(project.pipelines):
        beside = [c for c in loose if max(0, bisect.bisect_right(starts, c.line) - 1) == index]
        blocks.append(_Printer(pipeline, pending).render(beside))
    rest = [text for texts in pending.values() for text, _ in texts]
    if rest:
        blocks.append("\n".join(rest) + "\n")
    return "\n".join(blocks)


def _anchor_lines(project: p.Project) -> list[int]:
    """The source lines of every node that can carry comments."""
    nodes: list[Any] = [project]
    for pipeline in project.pipelines:
        nodes += [pipeline, *pipeline.schedules, *pipeline.triggers, *pipeline.tags[:1], *pipeline.parameters,
                  *pipeline.custom_transformers, *pipeline.on_failure, *pipeline.exposures]
        for dataset in pipeline.datasets:
            nodes += [dataset, *dataset.columns]
        for step in t.walk(pipeline.steps):
            nodes.append(step)
            if isinstance(step, t.Transform):
                nodes += step.steps
            if isinstance(step, t.QualityCheck):
                nodes += step.checks
    return sorted({n.span.line for n in nodes if n.span is not None})


class _Printer:
    def __init__(self, pipeline: p.Pipeline, comments: Attached):
        self.pipeline = pipeline
        self.comments = comments
        self.lines: list[str] = []
        self.printed: dict[int, int] = {}
        """The source line of each node taken → the index of its first printed line."""
        self.targets = {s.target for s in t.walk(pipeline.steps) if isinstance(s, t.Write)}

    def emit(self, depth: int, text: str) -> None:
        self.lines.append(INDENT * depth + text if text else "")

    def before(self, node: Any) -> list[str]:
        """The comments to print on the lines before `node` (each only once)."""
        span = getattr(node, "span", None)
        if span is None or span.line not in self.comments:
            return []
        leading = [text for text, trailing in self.comments[span.line] if not trailing]
        self.comments[span.line] = [c for c in self.comments[span.line] if c[1]]
        return leading

    def after(self, node: Any) -> str:
        """The comment to print at the end of `node`'s line, with its separating spaces."""
        span = getattr(node, "span", None)
        if span is None or span.line not in self.comments:
            return ""
        trailing = [text for text, is_trailing in self.comments[span.line] if is_trailing]
        self.comments[span.line] = [c for c in self.comments[span.line] if not c[1]]
        return "  " + " ".join(trailing) if trailing else ""

    def take(self, node: Any, depth: int) -> None:
        span = getattr(node, "span", None)
        if span is not None:
            self.printed.setdefault(span.line, len(self.lines))
        for comment in self.before(node):
            self.emit(depth, comment)

    def section(self) -> None:
        if self.lines and self.lines[-1] != "" and not self.lines[-1].endswith("{"):
            self.emit(0, "")

    def render(self, loose: Sequence[Comment] = ()) -> str:
        """The pipeline's text, with the `loose` trailing comments placed (see `comments.place_trailing`)."""
        pl = self.pipeline
        self.take(pl, 0)
        self.emit(0, f"pipeline {name(pl.name)} {{{self.after(pl)}")
        if pl.env != "dev":
            self.emit(1, f"env {name(pl.env)}")
        if pl.isolation != "schema":
            self.emit(1, f"isolate {name(pl.isolation)}")
        if pl.pipeline_type:
            self.emit(1, f"type {name(pl.pipeline_type)}")
        if pl.description:
            self.emit(1, f"description {string(pl.description)}")
        if pl.depends_on:
            self.emit(1, f"depends_on {names(pl.depends_on)}")
        for schedule in pl.schedules:
            self.take(schedule, 1)
            zone = f" timezone {string(schedule.timezone)}" if schedule.timezone != "UTC" else ""
            self.emit(1, f"schedule {string(schedule.cron)}{zone}{self.after(schedule)}")
        for trigger in pl.triggers:
            self.take(trigger, 1)
            self.emit(1, "trigger " + _trigger(trigger) + self.after(trigger))
        if pl.tags:
            self.take(pl.tags[0], 1)
            self.emit(1, "tags " + literal({s.key: s.value for s in pl.tags}) + self.after(pl.tags[0]))
        if pl.alerts:
            self.emit(1, "alert " + ", ".join(string(a) for a in pl.alerts))
        if pl.defaults != Policy():
            self.section()
            self.emit(1, "defaults {")
            for line in _policy(pl.defaults):
                self.emit(2, line)
            self.emit(1, "}")
        if pl.parameters:
            self.section()
        for param in pl.parameters:
            self.take(param, 1)
            default = f" = {literal(param.default)}" if param.default is not None else ""
            self.emit(1, f"param {name(param.name)}: {param.type}{default}{self.after(param)}")
        for dataset in pl.datasets:
            self.section()
            self.dataset(dataset)
        if pl.custom_transformers:
            self.section()
        for custom in pl.custom_transformers:
            self.take(custom, 1)
            self.emit(1, f"transformer {name(custom.name)} = {string(custom.sql)}{self.after(custom)}")
        for step in pl.steps:
            self.section()
            self.step(step, 1)
        for task in pl.on_failure:
            self.section()
            self.task(task, 1, prefix="on_failure ")
        for exposure in pl.exposures:
            self.section()
            self.exposure(exposure)
        self.emit(0, "}")
        return "\n".join(place_trailing(self.lines, loose, self.printed)) + "\n"

    def dataset(self, dataset: p.Dataset) -> None:
        self.take(dataset, 1)
        role = "target" if dataset.name in self.targets else "source"
        path = ".".join(name(part) for part in (dataset.catalog, dataset.schema, dataset.table) if part is not None)
        body = []
        if dataset.columns:
            body.append("columns {")
            for column in dataset.columns:
                body.extend(INDENT + comment for comment in self.before(column))
                body.append(f"{INDENT}{_column(column)},{self.after(column)}")
            body.append("}")
        for keyword, items in (("key", dataset.primary_key), ("business_key", dataset.business_key),
                               ("partition_by", dataset.partition_by)):
            if items:
                body.append(f"{keyword} {names(items)}")
        if dataset.watermark:
            body.append(f"watermark {name(dataset.watermark)}")
        if dataset.description:
            body.append(f"description {string(dataset.description)}")
        self.block(1, f"{role} {name(dataset.name)} = {path}", body, self.after(dataset))

    def block(self, depth: int, header: str, body: list[str], comment: str = "") -> None:
        if not body:
            self.emit(depth, header + comment)
            return
        self.emit(depth, header + " {" + comment)
        for line in body:
            self.emit(depth + 1, line)
        self.emit(depth, "}")

    def step(self, step: t.Step, depth: int) -> None:
        if not isinstance(step, t.Task):
            self.take(step, depth)
        if isinstance(step, t.ForEach):
            items = literal(step.items) if step.items is not None else name(step.items_param or "")
            limit = f" max {step.max_concurrency}" if step.max_concurrency is not None else ""
            self.emit(depth, f"foreach {name(step.var)} in {items} as {name(step.name)}{limit}{_after(step.after)} {{"
                             f"{self.after(step)}")
            self.steps(step.body, depth + 1)
            self.emit(depth, "}")
        elif isinstance(step, t.Branch):
            self.emit(depth, f"if {condition(step.condition)} as {name(step.name)}{_after(step.after)} {{{self.after(step)}")
            self.steps(step.then, depth + 1)
            if step.otherwise:
                self.emit(depth, "} else {")
                self.steps(step.otherwise, depth + 1)
            self.emit(depth, "}")
        else:
            self.task(step, depth)

    def steps(self, steps: tuple[t.Step, ...], depth: int) -> None:
        for index, step in enumerate(steps):
            if index:
                self.emit(0, "")
            self.step(step, depth)

    def task(self, task: t.AnyTask, depth: int, prefix: str = "") -> None:
        self.take(task, depth)
        head, body = _task_parts(task, self.before, self.after)
        comment = self.after(task)
        lines = [f"{prefix}task {name(task.name)} = {head}"]
        chain = task.steps if isinstance(task, t.Transform) else ()
        last = ""  # the comment of the last line, which goes after the `{` of a body
        for op in chain:
            lines += [INDENT * 2 + comment for comment in self.before(op)]
            lines[-1] += last
            lines.append(f"{INDENT * 2}| {_op(op)}")
            last = self.after(op)
        if task.after:
            if chain:
                lines[-1] += last
                last = ""
                lines.append(f"{INDENT * 2}after {names(task.after)}")
            else:
                lines[-1] += _after(task.after)
        if task.description:
            body.insert(0, f"description {string(task.description)}")
        body.extend(_policy(task.policy))
        body.extend(_artifact("input", a) for a in task.inputs)
        body.extend(_artifact("output", a) for a in task.outputs)
        for example in task.examples if isinstance(task, t.Transform) else ():
            body.extend(_example(example))
        if comment and len(lines) > 1:
            lines[0] += comment
            comment = ""
        comment += last
        for line in lines[:-1]:
            self.emit(depth, line)
        self.block(depth, lines[-1], body, comment)

    def exposure(self, exposure: p.Exposure) -> None:
        self.take(exposure, 1)
        body = [f"type {name(exposure.type)}"]
        if exposure.maturity != "medium":
            body.append(f"maturity {name(exposure.maturity)}")
        if exposure.url:
            body.append(f"url {string(exposure.url)}")
        email_inline = bool(re.fullmatch(r'[^<>\s"]+', exposure.owner_email))
        if exposure.owner_name or email_inline:
            body.append(f"owner {string(exposure.owner_name)}" + (f" <{exposure.owner_email}>" if email_inline else ""))
        if exposure.owner_email and not email_inline:
            body.append(f"email {string(exposure.owner_email)}")
        body.append(f"depends_on {names(exposure.depends_on)}")
        if exposure.description:
            body.append(f"description {string(exposure.description)}")
        if exposure.tags:
            body.append(f"tags {literal(exposure.tags, bare_names=True)}")
        self.block(1, f"exposure {name(exposure.name)}", body, self.after(exposure))


def _after(after: tuple[str, ...]) -> str:
    return f" after {names(after)}" if after else ""


def _column(column: Column) -> str:
    text = f"{name(column.name)}: {column.type or 'string'}"
    if not column.nullable:
        text += " not null"
    if column.description:
        text += f" {string(column.description)}"
    return text


def _trigger(trigger: p.Trigger) -> str:
    if isinstance(trigger, p.ObjectCreatedTrigger):
        text = f"{trigger.store} bucket {string(trigger.bucket)}"
        text += f" prefix {string(trigger.prefix)}" if trigger.prefix else ""
        return text + (f" suffix {string(trigger.suffix)}" if trigger.suffix else "")
    if isinstance(trigger, p.KafkaTrigger):
        group = f" group {string(trigger.consumer_group)}" if trigger.consumer_group else ""
        return f"kafka {string(trigger.topic)} brokers {string(trigger.brokers)}{group}"
    if isinstance(trigger, p.WebhookTrigger):
        text = f"webhook {string(trigger.endpoint)}"
        text += f" method {name(trigger.method)}" if trigger.method != "POST" else ""
        return text + (f" port {trigger.port}" if trigger.port != 12000 else "")
    if isinstance(trigger, p.SnsTrigger):
        return f"sns {string(trigger.topic_arn)}"
    if isinstance(trigger, p.SqsTrigger):
        return f"sqs {string(trigger.queue)}" + (f" region {string(trigger.region)}" if trigger.region != "us-east-1" else "")
    if isinstance(trigger, p.GitHubTrigger):
        events = f" events {names(trigger.events)}" if trigger.events != ("push",) else ""
        return f"github {string(trigger.owner + '/' + trigger.repository)}{events}"
    detail = f" detail_type {string(trigger.detail_type)}" if trigger.detail_type else ""
    return f"event {string(trigger.source)}{detail}"


def _policy(policy: Policy) -> list[str]:
    lines = []
    if policy.retry is not None:
        lines.append(_retry(policy.retry))
    if policy.timeout is not None:
        lines.append(f"timeout {format_duration(policy.timeout)}")
    if policy.runtime is not None:
        lines.append(f"runtime {name(policy.runtime)}")
    resources = policy.resources
    if resources is not None:
        requests = {k: v for k, v in (("cpu", resources.cpu_request), ("memory", resources.memory_request)) if v}
        limits = {k: v for k, v in (("cpu", resources.cpu_limit), ("memory", resources.memory_limit)) if v}
        lines.append(f"resources {_quoted_map(requests)}")
        if limits:
            lines.append(f"limits {_quoted_map(limits)}")
    return lines


def _quoted_map(items: dict[str, str]) -> str:
    return "{ " + ", ".join(f"{k}: {string(v)}" for k, v in items.items()) + " }" if items else "{}"


def _retry(retry: Retry) -> str:
    default = Retry(limit=retry.limit)
    text = f"retry {retry.limit}"
    if retry.interval != default.interval:
        text += f" every {format_duration(retry.interval)}"
    if retry.backoff != default.backoff:
        text += f" backoff {retry.backoff!r}"
    if retry.max_delay is not None:
        text += f" max {format_duration(retry.max_delay)}"
    if retry.on != default.on:
        text += f" on [{names(retry.on)}]"
    return text


def _artifact(keyword: str, artifact: Artifact) -> str:
    text = f"{keyword} {name(artifact.name)} {string(artifact.path)}"
    if artifact.source is not None:
        task, _, output = artifact.source.partition(".")
        return f"{text} from {name(task)}.{name(output)}"
    if artifact.store is not None:
        text += f" {artifact.store}"
        if artifact.location is not None:
            text += f" {string(artifact.location)}"
    return text


def op_params(op: Op) -> dict[str, Any]:
    """An op's parameters that differ from their defaults, in config form."""
    params = {}
    for field in parameters(type(op)):
        current = getattr(op, field.name)
        if field.default is not attrs.NOTHING and current == field.default:
            continue
        params[field.name] = _param_value(current)
    return params


def _param_value(current: Any) -> Any:
    if isinstance(current, tuple) and current and isinstance(current[0], Replacement):
        grouped: dict[str, dict[Any, Any]] = {}
        for r in current:
            grouped.setdefault(r.column, {})[r.old] = r.new
        return grouped
    if isinstance(current, tuple) and current and isinstance(current[0], FillValue):
        return {f.column: f.value for f in current}
    if isinstance(current, tuple) and current and isinstance(current[0], Measure):
        return [{"name": m.name, "expression": m.expression} for m in current]
    if isinstance(current, tuple) and current and isinstance(current[0], Column):
        return {c.name: c.type for c in current}
    if isinstance(current, tuple) and current and isinstance(current[0], tuple):
        return dict(current)
    if isinstance(current, tuple):
        return list(current)
    return current


def _op(op: Op) -> str:
    if isinstance(op, CustomOp):
        args = {"target_column": op.target_column} if op.target_column else {}
        label = op.transformer
    else:
        args = op_params(op)
        label = op.NAME
    if not args:
        return name(label)
    fields = {f.name: f for f in parameters(type(op))} if not isinstance(op, CustomOp) else {}
    return f"{name(label)}(" + ", ".join(
        f"{k}: {literal(v, bare_names=k not in fields or _names_columns(fields[k]))}" for k, v in args.items()
    ) + ")"


def _names_columns(field: attrs.Attribute[Any]) -> bool:
    """Whether a parameter holds column names or a choice (printed bare) rather than literal text."""
    return (field.metadata.get("convert") is as_columns or "column" in field.name
            or field.metadata.get("choices") is not None or field.name in _BARE_PARAMETERS)


_BARE_PARAMETERS = frozenset({"effective_from", "effective_to", "current_flag", "order_by", "partition_by",
                              "group_by", "business_key", "measures"})


def _example(example: t.Example) -> list[str]:
    lines = [f"example {string(example.name)} {{"]
    for given in example.given:
        lines += _rows(f"given {name(given.relation)}", given.rows)
    lines += _rows("expect", example.expect)
    return lines + ["}"]


def _rows(header: str, rows: tuple[t.Row, ...]) -> list[str]:
    if not rows:
        return [f"{INDENT}{header} []"]
    cells = [literal({cell.key: cell.value for cell in row}) for row in rows]
    return [f"{INDENT}{header} ["] + [f"{INDENT * 2}{row}," for row in cells] + [f"{INDENT}]"]


def _settings(keyword: str, settings: tuple[Setting, ...]) -> list[str]:
    return [f"{keyword} " + literal({s.key: s.value for s in settings})] if settings else []


def _task_parts(
    task: t.AnyTask, before: Callable[[Any], list[str]], after: Callable[[Any], str]
) -> tuple[str, list[str]]:
    """The header expression and the body settings of a task (a transform's ops are printed apart)."""
    body: list[str] = []
    match task:
        case t.Transform():
            return (f"sql {string(task.sql)}" if task.sql is not None else f"from {name(task.input or '')}"), body
        case t.Ingest():
            body += [f"system {string(task.source_system)}"] if task.source_system else []
            body += [f"connection {string(task.connection)}"] if task.connection is not None else []
            body += _settings("options", task.options)
            if task.columns:
                body += ["columns {", *(f"{INDENT}{_column(c)}," for c in task.columns), "}"]
            body += [f"watermark {name(task.watermark)}"] if task.watermark else []
            body += ["streaming"] if task.streaming else []
            body += [f"checkpoint {string(task.checkpoint)}"] if task.checkpoint is not None else []
            return f"ingest {name(task.ingestor)} from {string(task.source)}", body
        case t.Write():
            body += [f"mode {name(task.mode)}"] if task.mode != "append" else []
            body += [f"unique_key {names(task.unique_key)}"] if task.unique_key else []
            body += [f"partition_by {names(task.partition_by)}"] if task.partition_by else []
            body += [f"watermark {name(task.watermark)}"] if task.watermark else []
            body += [f"on_schema_change {name(task.schema_change)}"] if task.schema_change != "fail" else []
            return f"write {name(task.input)} into {name(task.target)}", body
        case t.QualityCheck():
            for check in task.checks:
                body += [*before(check), check_text(check) + after(check)]
            body += [f"severity {name(task.severity)}"] if task.severity != "error" else []
            return f"check {name(task.input)}", body
        case t.Train():
            body += [f"features {names(task.feature_columns)}"] if task.feature_columns else []
            body += [f"target {name(task.target_column)}"] if task.target_column else []
            body += [f"algorithm {literal(task.algorithm, bare_names=True)}"] if task.algorithm != "default" else []
            body += _settings("params", task.params)
            body += _settings("training", task.training)
            return f"train {name(task.model_name)} on {name(task.input)}", body
        case t.SelectModel():
            body += [f"metric {literal(task.metric, bare_names=True)}"] if task.metric != "auc" else []
            body += ["lower_is_better"] if not task.higher_is_better else []
            body += [f"minimum {literal(task.minimum)}"] if task.minimum is not None else []
            body += [f"improvement {literal(task.improvement)}"] if task.improvement is not None else []
            body += [f"validate {', '.join(literal(c) for c in task.validation)}"] if task.validation else []
            body += ["warn_on_invalid"] if not task.fail_on_invalid else []
            body += _settings("registration", task.registration)
            return f"select_model {name(task.model_name)} from {names(task.candidates)}", body
        case t.Score():
            body += [f"stage {literal(task.stage, bare_names=True)}"] if task.stage != "champion" else []
            body += [f"features {names(task.feature_columns)}"] if task.feature_columns else []
            body += [f"prediction {name(task.prediction_column)}"] if task.prediction_column != "prediction" else []
            return f"score {name(task.input)} with {name(task.model_name)}", body
        case t.RunSql():
            return "execute " + ", ".join(string(s) for s in task.statements), body
        case t.Notify():
            body += [f"message {string(task.message)}"] if task.message else []
            body += [f"subject {string(task.subject)}"] if task.subject else []
            return f"notify {string(task.channel)}", body
        case t.Container():
            body += [f"command {literal(task.command)}"] if task.command else []
            body += [f"args {literal(task.args)}"] if task.args else []
            body += _settings("env", task.env)
            return f"container {string(task.image)}", body
        case t.Script():
            body += [f"image {string(task.image)}"] if task.image != "python:3.12-slim" else []
            return f"script {string(task.source)}", body
        case t.KubernetesResource():
            body += [f"success {string(task.success_condition)}"] if task.success_condition is not None else []
            body += [f"failure {string(task.failure_condition)}"] if task.failure_condition is not None else []
            return f"resource {name(task.action)} {string(task.manifest)}", body
        case t.Approval():
            return "approval" + (f" {string(task.prompt)}" if task.prompt else ""), body
        case t.Wait():
            return f"wait {format_duration(task.seconds)}", body
        case _:
            assert_never(task)

