"""Pictures of the DAG: Graphviz DOT and Mermaid flowcharts.

Each pipeline is a cluster; loops and branches are nested clusters holding
their bodies; edges are the transitive reduction of each level's graph, and
pipeline dependencies link the clusters.
"""

from __future__ import annotations

import json
import re

from sparklec.ir.graph import StepGraph, dataset_writers, pipeline_graph
from sparklec.ir.pipeline import Pipeline, Project
from sparklec.ir.tasks import Branch, ForEach, Step, bodies, kind_name


def node_id(pipeline: str, step: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{pipeline}__{step}")


def _label(step: Step) -> str:
    if isinstance(step, ForEach):
        return f"foreach {step.var}: {step.name}"
    if isinstance(step, Branch):
        return f"if: {step.name}"
    return f"{step.name}\n({kind_name(step)})"


class _Writer:
    def __init__(self, project: Project, fmt: str):
        self.project = project
        self.fmt = fmt
        self.lines: list[str] = []

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text)

    def quote(self, text: str) -> str:
        if self.fmt == "dot":
            return json.dumps(text, ensure_ascii=False)
        return '"' + text.replace('"', "#quot;").replace("\n", "<br/>") + '"'

    def level(self, pipeline: Pipeline, steps: tuple[Step, ...], depth: int) -> list[str]:
        """Emit one level; return the ids to attach edges to (a group's first inner node)."""
        graph = StepGraph(steps, dataset_writers(pipeline))
        for step in steps:
            ident = node_id(pipeline.name, step.name)
            inner = [s for body in bodies(step) for s in body]
            if inner:
                self.open_cluster(ident, _label(step), depth)
                self.emit(depth + 1, self.node(ident, _label(step), shape="diamond" if isinstance(step, Branch) else "box"))
                for body in bodies(step):
                    for inner_id in self.level(pipeline, body, depth + 1):
                        self.emit(depth + 1, self.edge(ident, inner_id, dashed=True))
                self.close_cluster(depth)
            else:
                self.emit(depth, self.node(ident, _label(step)))
        for upstream, downstream in graph.reduced_edges():
            self.emit(depth, self.edge(node_id(pipeline.name, upstream), node_id(pipeline.name, downstream)))
        return [node_id(pipeline.name, name) for name in graph.order() if not graph.predecessors(name)]

    def node(self, ident: str, label: str, shape: str = "box") -> str:
        if self.fmt == "dot":
            return f"{ident} [label={self.quote(label)}, shape={shape}];"
        return f"{ident}{{{{{self.quote(label)}}}}}" if shape == "diamond" else f"{ident}[{self.quote(label)}]"

    def edge(self, source: str, target: str, dashed: bool = False, **extra: str) -> str:
        if self.fmt == "dot":
            attributes = ", ".join([*(["style=dashed"] if dashed else []), *(f"{k}={v}" for k, v in extra.items())])
            return f"{source} -> {target}" + (f" [{attributes}]" if attributes else "") + ";"
        return f"{source} {'-.->' if dashed else '-->'} {target}"

    def open_cluster(self, ident: str, label: str, depth: int) -> None:
        if self.fmt == "dot":
            self.emit(depth, f"subgraph cluster_{ident} {{")
            self.emit(depth + 1, f"label={self.quote(label)};")
        else:
            self.emit(depth, f"subgraph cluster_{ident}[{self.quote(label)}]")

    def close_cluster(self, depth: int) -> None:
        self.emit(depth, "}" if self.fmt == "dot" else "end")

    def render(self) -> str:
        if self.fmt == "dot":
            self.emit(0, f"digraph {json.dumps(self.project.name)} {{")
            self.emit(1, "compound=true;")
            self.emit(1, "rankdir=LR;")
        else:
            self.emit(0, "flowchart LR")
        for pipeline in self.project.pipelines:
            ident = node_id(pipeline.name, "")
            self.open_cluster(ident, pipeline.name, 1)
            self.level(pipeline, pipeline.steps, 2)
            self.close_cluster(1)
        for upstream, downstream in sorted(pipeline_graph(self.project).edges):
            source, target = node_id(upstream, ""), node_id(downstream, "")
            if self.fmt == "dot":
                first = self._anchor(upstream, last=True)
                last = self._anchor(downstream, last=False)
                if first and last:
                    self.emit(1, self.edge(first, last, ltail=f"cluster_{source}", lhead=f"cluster_{target}"))
            else:
                self.emit(1, f"cluster_{source} --> cluster_{target}")
        if self.fmt == "dot":
            self.emit(0, "}")
        return "\n".join(self.lines) + "\n"

    def _anchor(self, pipeline_name: str, last: bool) -> str | None:
        pipeline = self.project.pipeline(pipeline_name)
        if pipeline is None or not pipeline.steps:
            return None
        return node_id(pipeline.name, pipeline.steps[-1 if last else 0].name)


def render_graph(project: Project, fmt: str) -> str:
    """The DAG of every pipeline in `project` as ``dot`` or ``mermaid`` text."""
    return _Writer(project, fmt).render()
