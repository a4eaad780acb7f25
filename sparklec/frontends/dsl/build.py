"""Building the IR project from a `.spk` syntax tree: pipelines and their declarations."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import lark

from sparklec.diagnostics import Diagnostic, did_you_mean
from sparklec.frontends.dsl.steps import StepBuilder, Tree
from sparklec.ir import pipeline as p
from sparklec.ir.cron import expand_schedule_name
from sparklec.ir.values import Setting

_WHAT = {"kind": "pipeline type", "isolate": "environment isolation"}


class ProjectBuilder(StepBuilder):
    """Turns a parsed file into a `Project`; problems are collected in `report`."""

    def __init__(self, file: str, report: list[Diagnostic]):
        super().__init__(file, report)
        self.custom = set()

    def project(self, tree: Tree) -> p.Project:
        header = next((c for c in tree.children if c is not None and c.data == "project_decl"), None)
        pipelines = tuple(self.pipeline(c) for c in tree.children if c is not None and c.data == "pipeline")
        if header is not None:
            name = self.name(header.children[0])
        elif len(pipelines) == 1:
            name = pipelines[0].name
        else:
            stem = re.sub(r"\.spk$", "", self.file.replace("\\", "/").rsplit("/", 1)[-1])
            name = re.sub(r"[^A-Za-z0-9_]+", "_", stem).strip("_") or "project"
        if not pipelines:
            self.error("E139", "the file declares no pipeline", tree, "start with `pipeline NAME { ... }`")
        return p.Project(name=name, pipelines=pipelines, span=self.span(header if header is not None else tree))

    def pipeline(self, tree: Tree) -> p.Pipeline:
        name_node, *items = tree.children
        items = [i for i in items if i is not None]
        self.custom = {self.name(i.children[0]) for i in items if i.data == "transformer"}
        fields: dict[str, Any] = {"name": self.name(name_node), "span": self.span(name_node)}
        lists: dict[str, list[Any]] = {key: [] for key in (
            "parameters", "tags", "schedules", "triggers", "alerts", "datasets", "custom_transformers", "steps",
            "on_failure", "exposures", "depends_on")}
        single = {"env": "env", "isolate": "isolation", "kind": "pipeline_type", "description": "description"}
        choices = {"env": p.ENVS, "isolate": p.ISOLATIONS, "kind": p.PIPELINE_TYPES}
        defaults: list[Tree] = []
        for item in items:
            kind = item.data
            if kind in single:
                if single[kind] in fields:
                    self.error("E136", f"`{'type' if kind == 'kind' else kind}` is given twice", item,
                               "keep one of them")
                fields[single[kind]] = self.string(item.children[0]) if kind == "description" else self.choice(
                    item.children[0], choices[kind], kind)
            elif kind == "defaults":
                defaults.extend(c for c in item.children if c is not None)
            elif kind in ("task", "foreach", "branch"):
                lists["steps"].extend(self.steps([item]))
            elif kind == "on_failure":
                task = self.task(item.children[0])
                if task is not None:
                    lists["on_failure"].append(task)
            elif kind == "depends_on":
                lists["depends_on"].extend(self.names(item.children[0]))
            elif kind == "alert":
                lists["alerts"].extend(self.string(c) for c in item.children)
            elif kind == "tags":
                lists["tags"].extend(self.tags(item))
            else:
                target, value = _DECLARATIONS[kind](self, item)
                lists[target].append(value)
        if defaults:
            fields["defaults"] = self.policy(defaults)
        fields.update({key: tuple(value) for key, value in lists.items()})
        return p.Pipeline(**fields)

    def choice(self, node: Tree, choices: tuple[str, ...], what: str) -> str:
        """A name that must be one of `choices` (reported at the name when not)."""
        text = self.name(node)
        if text not in choices:
            self.error("E109", f"`{text}` is not a valid {_WHAT.get(what, what)}", node,
                       did_you_mean(text, choices) or f"use one of {', '.join(choices)}")
        return text

    def tags(self, item: Tree) -> list[Setting]:
        value = self.plain(item.children[0])
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            self.error("E113", "pipeline tags are a map of strings", item, 'write `tags { team: "data-eng" }`')
            return []
        return [Setting(key=k, value=v, span=self.span(item)) for k, v in value.items()]

    def parameter(self, item: Tree) -> p.Parameter:
        name, type_node, default = item.children
        type_text = self.type_text(type_node)
        if type_text not in p.PARAM_TYPES:
            self.error("E113", f"unknown parameter type `{type_text}`", type_node, f"use {', '.join(p.PARAM_TYPES)}")
        return p.Parameter(name=self.name(name), type=type_text,
                           default=self.value(default) if default is not None else None, span=self.span(name))

    def dataset(self, item: Tree) -> p.Dataset:
        _, name, path, *details = item.children
        parts = [self.name(part) for part in path.children]
        if len(parts) > 3:
            self.error("E113", "a table is `schema.table` or `catalog.schema.table`", path)
            parts = parts[-3:]
        fields: dict[str, Any] = {
            "name": self.name(name), "schema": parts[-2], "table": parts[-1],
            "catalog": parts[0] if len(parts) == 3 else None, "span": self.span(name),
        }
        keys = {"key": "primary_key", "business_key": "business_key", "partition_by": "partition_by"}
        for detail in (d for d in details if d is not None):
            if detail.data == "columns":
                fields["columns"] = self.columns(detail)
            elif detail.data in keys:
                fields[keys[detail.data]] = self.names(detail.children[0])
            elif detail.data == "watermark":
                fields["watermark"] = self.name(detail.children[0])
            else:
                fields["description"] = self.string(detail.children[0])
        return p.Dataset(**fields)

    def schedule(self, item: Tree) -> p.Schedule:
        cron, timezone = item.children
        return p.Schedule(cron=expand_schedule_name(self.string(cron)),
                          timezone=self.string(timezone) if timezone is not None else "UTC", span=self.span(item))

    def trigger(self, item: Tree) -> p.Trigger:
        node = item.children[0]
        span = self.span(item)
        text = [self.string(c) if isinstance(c, lark.Tree) and c.data == "string" else c for c in node.children]
        kind = node.data
        if kind == "object_trigger":
            store, bucket, prefix, suffix = node.children
            return p.ObjectCreatedTrigger(store=str(store.children[0]), bucket=self.string(bucket),
                                          prefix=self.string(prefix) if prefix else "",
                                          suffix=self.string(suffix) if suffix else "", span=span)
        if kind == "kafka_trigger":
            return p.KafkaTrigger(topic=text[0], brokers=text[1], consumer_group=text[2] or "", span=span)
        if kind == "webhook_trigger":
            endpoint, method, port = node.children
            return p.WebhookTrigger(endpoint=self.string(endpoint), method=self.name(method) if method else "POST",
                                    port=self.plain(port) if port is not None else 12000, span=span)
        if kind == "sns_trigger":
            return p.SnsTrigger(topic_arn=text[0], span=span)
        if kind == "sqs_trigger":
            return p.SqsTrigger(queue=text[0], region=text[1] or "us-east-1", span=span)
        if kind == "github_trigger":
            repository, events = node.children
            owner, _, repo = self.string(repository).partition("/")
            if not repo:
                self.error("E113", "a GitHub trigger names `owner/repository`", repository)
            return p.GitHubTrigger(owner=owner, repository=repo, span=span,
                                   events=self.names(events) if events is not None else ("push",))
        return p.CustomEventTrigger(source=text[0], detail_type=text[1] or "", span=span)

    def exposure(self, item: Tree) -> p.Exposure:
        name, *details = item.children
        fields: dict[str, Any] = {"name": self.name(name), "span": self.span(name)}
        for detail in (d for d in details if d is not None):
            kind = detail.data
            if kind == "kind":
                fields["type"] = self.name(detail.children[0])
            elif kind == "maturity":
                fields["maturity"] = self.name(detail.children[0])
            elif kind in ("url", "description"):
                fields[kind] = self.string(detail.children[0])
            elif kind == "owner":
                fields["owner_name"] = self.string(detail.children[0])
                if detail.children[1] is not None:
                    fields["owner_email"] = str(detail.children[1])[1:-1]
            elif kind == "email":
                fields["owner_email"] = self.string(detail.children[0])
            elif kind == "depends_on":
                fields["depends_on"] = self.names(detail.children[0])
                fields["ref_spans"] = self.refs(detail.children[0])
            else:
                tags = self.plain(detail.children[0])
                fields["tags"] = tuple(tags) if isinstance(tags, list) else ()
        for required in ("type", "depends_on"):
            if required not in fields:
                self.error("E106", f"exposure `{fields['name']}` needs `{required}`", name)
                fields[required] = "dashboard" if required == "type" else ()
        return p.Exposure(**fields)


_DECLARATIONS: dict[str, Callable[[ProjectBuilder, Tree], tuple[str, Any]]] = {
    "param": lambda b, i: ("parameters", b.parameter(i)),
    "dataset": lambda b, i: ("datasets", b.dataset(i)),
    "transformer": lambda b, i: ("custom_transformers", p.CustomTransformer(
        name=b.name(i.children[0]), sql=b.string(i.children[1]), span=b.span(i.children[0]))),
    "schedule": lambda b, i: ("schedules", b.schedule(i)),
    "trigger": lambda b, i: ("triggers", b.trigger(i)),
    "exposure": lambda b, i: ("exposures", b.exposure(i)),
}
