"""The DAG of a pipeline's steps, with networkx inside.

Each level of nesting — a pipeline's steps, a group's body — has its own
`StepGraph`: nodes are the steps of that level, and an edge u → v means v
waits for u, because v (or a task inside it) names u (or a task inside it) in
`after`, or reads a relation u produces, or reads a dataset u writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import networkx as nx

from sparklec.ir.pipeline import Pipeline, Project
from sparklec.ir.tasks import Step, Task, Write, bodies, walk


def dataset_writers(pipeline: Pipeline) -> dict[str, list[str]]:
    """Dataset name → names of the tasks in `pipeline` that write it."""
    writers: dict[str, list[str]] = {}
    for step in walk(pipeline.steps):
        if isinstance(step, Write):
            writers.setdefault(step.target, []).append(step.name)
    return writers


def relation_readers(pipeline: Pipeline) -> dict[str, list[Task]]:
    """Relation name → the tasks in `pipeline` that read it."""
    readers: dict[str, list[Task]] = {}
    for step in walk(pipeline.steps):
        if isinstance(step, Task):
            for relation in step.reads():
                readers.setdefault(relation, []).append(step)
    return readers


def dependencies(step: Step, writers: dict[str, list[str]], inlined: Mapping[str, Step] | None = None) -> list[str]:
    """Every name `step` or a step inside it waits for, in source order.  A step in `inlined` (a transform
    that runs inside the SQL of its readers, no step of its own) stands for the names it waits for."""
    names: list[str] = []
    for inner in walk((step,)):
        names.extend(inner.after)
        if isinstance(inner, Task):
            names.extend(inner.waits_for())
            for relation in inner.reads():
                names.append(relation)
                names.extend(writers.get(relation, ()))
    if inlined:
        names = [n for name in names for n in (dependencies(inlined[name], writers, inlined) if name in inlined
                                               else (name,))]
    return list(dict.fromkeys(names))


class StepGraph:
    """The DAG of one level of steps; names inside groups resolve to their group."""

    def __init__(self, steps: Iterable[Step], writers: dict[str, list[str]],
                 inlined: Mapping[str, Step] | None = None):
        """The graph of `steps`, leaving out those in `inlined` (see `dependencies`)."""
        self.steps: dict[str, Step] = {}
        owner: dict[str, str] = {}
        for step in steps:
            if inlined and step.name in inlined:
                continue
            self.steps.setdefault(step.name, step)
            for inner in walk((step,)):
                owner.setdefault(inner.name, step.name)
        self._index = {name: i for i, name in enumerate(sorted(self.steps))}
        self.nx: nx.DiGraph = nx.DiGraph()
        self.nx.add_nodes_from(self.steps)
        for name, step in self.steps.items():
            for dependency in dependencies(step, writers, inlined):
                upstream = owner.get(dependency)
                if upstream is not None and upstream != name:
                    self.nx.add_edge(upstream, name)

    @classmethod
    def of(cls, pipeline: Pipeline) -> StepGraph:
        """The top-level graph of `pipeline`."""
        return cls(pipeline.steps, dataset_writers(pipeline))

    def find_cycle(self) -> list[str] | None:
        """The names along one cycle, or None when the graph is acyclic."""
        try:
            return [u for u, _ in nx.find_cycle(self.nx)]
        except nx.NetworkXNoCycle:
            return None

    def order(self) -> list[str]:
        """Step names in dependency order, ties broken by name (so the order steps are written in does not matter)."""
        return list(nx.lexicographical_topological_sort(self.nx, key=self._index.__getitem__))

    def predecessors(self, name: str) -> list[str]:
        return sorted(self.nx.predecessors(name), key=self._index.__getitem__)

    def successors(self, name: str) -> list[str]:
        return sorted(self.nx.successors(name), key=self._index.__getitem__)

    def ancestors(self, name: str) -> set[str]:
        return set(nx.ancestors(self.nx, name))

    def edges(self) -> list[tuple[str, str]]:
        """All edges, sorted by the names of their ends."""
        return sorted(self.nx.edges, key=lambda e: (self._index[e[1]], self._index[e[0]]))

    def reduced_edges(self) -> list[tuple[str, str]]:
        """The edges of the transitive reduction (requires an acyclic graph)."""
        reduced = nx.transitive_reduction(self.nx)
        return sorted(reduced.edges, key=lambda e: (self._index[e[1]], self._index[e[0]]))


def levels(pipeline: Pipeline, inlined: Mapping[str, Step] | None = None) -> Iterator[tuple[Step | None, StepGraph]]:
    """Every level of `pipeline` as (enclosing group or None, its graph without the steps in `inlined`)."""
    writers = dataset_writers(pipeline)
    pending: list[tuple[Step | None, tuple[Step, ...]]] = [(None, pipeline.steps)]
    while pending:
        group, steps = pending.pop(0)
        yield group, StepGraph(steps, writers, inlined)
        pending.extend((step, body) for step in steps for body in bodies(step))


def flat_graph(pipeline: Pipeline) -> nx.DiGraph:
    """Every step at every level; u → v when u finishes before v starts."""
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(step.name for step in walk(pipeline.steps))
    for _, level in levels(pipeline):
        for upstream, downstream in level.edges():
            for before in walk((level.steps[upstream],)):
                graph.add_edges_from((before.name, after.name) for after in walk((level.steps[downstream],)))
    return graph


def pipeline_graph(project: Project) -> nx.DiGraph:
    """Pipelines of `project` as a DAG by `depends_on` (edges to pipelines outside are left out)."""
    graph: nx.DiGraph = nx.DiGraph()
    names = [p.name for p in project.pipelines]
    graph.add_nodes_from(names)
    for pipeline in project.pipelines:
        for upstream in pipeline.depends_on:
            if upstream in names:
                graph.add_edge(upstream, pipeline.name)
    return graph
