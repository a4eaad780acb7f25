"""The DAG of a pipeline's steps (networkx is imported only where whole-pipeline graphs are asked for).

Each level of nesting — a pipeline's steps, a group's body — has its own
`StepGraph`: nodes are the steps of that level, and an edge u → v means v
waits for u, because v (or a task inside it) names u (or a task inside it) in
`after`, or reads a relation u produces, or reads a dataset u writes.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from sparklec.ir.pipeline import Pipeline, Project
from sparklec.ir.tasks import AnyTask, Step, Task, Write, bodies, walk

if TYPE_CHECKING:
    import networkx as nx


def dataset_writers(pipeline: Pipeline) -> dict[str, list[str]]:
    """Dataset name → names of the tasks in `pipeline` that write it."""
    writers: dict[str, list[str]] = {}
    for step in walk(pipeline.steps):
        if isinstance(step, Write):
            writers.setdefault(step.target, []).append(step.name)
    return writers


def relation_readers(pipeline: Pipeline) -> dict[str, list[AnyTask]]:
    """Relation name → the tasks in `pipeline` that read it."""
    readers: dict[str, list[AnyTask]] = {}
    for step in walk(pipeline.steps):
        if isinstance(step, Task):
            for relation in step.reads():
                readers.setdefault(relation, []).append(step)
    return readers


def dependencies(step: Step, writers: dict[str, list[str]]) -> list[str]:
    """Every name `step` or a step inside it waits for, in source order."""
    names: list[str] = []
    for inner in walk((step,)):
        names.extend(inner.after)
        if isinstance(inner, Task):
            names.extend(inner.waits_for())
            for relation in inner.reads():
                names.append(relation)
                names.extend(writers.get(relation, ()))
    return list(dict.fromkeys(names))


def reachable(start: str, neighbours: Mapping[str, Iterable[str]]) -> set[str]:
    """Every node reached from `start` (itself only through a cycle) by following `neighbours`."""
    found: set[str] = set()
    pending = [start]
    while pending:
        for node in neighbours[pending.pop()]:
            if node not in found:
                found.add(node)
                pending.append(node)
    return found


class StepGraph:
    """The DAG of one level of steps; names inside groups resolve to their group."""

    def __init__(self, steps: Iterable[Step], writers: dict[str, list[str]],
                 inlined: Mapping[str, Step] | None = None):
        """The graph of `steps`, leaving out the steps in `inlined`: transforms that run inside the SQL of their
        readers, no step of their own.  A name in `inlined` stands for the names that step waits for."""
        self.steps: dict[str, Step] = {}
        owner: dict[str, str] = {}
        for step in steps:
            if inlined and step.name in inlined:
                continue
            self.steps.setdefault(step.name, step)
            for inner in walk((step,)):
                owner.setdefault(inner.name, step.name)
        self._index = {name: i for i, name in enumerate(sorted(self.steps))}
        self._successors: dict[str, set[str]] = {name: set() for name in self.steps}
        self._predecessors: dict[str, set[str]] = {name: set() for name in self.steps}
        self._edges: list[tuple[str, str]] = []
        through = _Inlined(writers, inlined or {})
        for name, step in self.steps.items():
            for dependency in dict.fromkeys(n for d in dependencies(step, writers) for n in through(d)):
                upstream = owner.get(dependency)
                if upstream is not None and upstream != name and name not in self._successors[upstream]:
                    self._successors[upstream].add(name)
                    self._predecessors[name].add(upstream)
                    self._edges.append((upstream, name))

    @classmethod
    def of(cls, pipeline: Pipeline) -> StepGraph:
        """The top-level graph of `pipeline`."""
        return cls(pipeline.steps, dataset_writers(pipeline))

    @functools.cached_property
    def nx(self) -> nx.DiGraph:
        """The graph as a networkx `DiGraph` (networkx is imported on first use)."""
        import networkx

        graph: nx.DiGraph = networkx.DiGraph()
        graph.add_nodes_from(self.steps)
        graph.add_edges_from(self._edges)
        return graph

    def find_cycle(self) -> list[str] | None:
        """The names along one cycle, or None when the graph is acyclic."""
        if len(self._topological) == len(self.steps):
            return None
        import networkx

        return [u for u, _ in networkx.find_cycle(self.nx)]

    def order(self) -> list[str]:
        """Step names in dependency order, ties broken by name (so the order steps are written in does not matter)."""
        if len(self._topological) != len(self.steps):
            raise ValueError("the steps wait for each other in a cycle")
        return list(self._topological)

    @functools.cached_property
    def _topological(self) -> tuple[str, ...]:
        """Kahn's algorithm, smallest name first; stops short of the steps on or after a cycle."""
        waiting = {name: len(upstream) for name, upstream in self._predecessors.items()}
        ready = [(self._index[name], name) for name, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            _, name = heapq.heappop(ready)
            order.append(name)
            for downstream in self._successors[name]:
                waiting[downstream] -= 1
                if waiting[downstream] == 0:
                    heapq.heappush(ready, (self._index[downstream], downstream))
        return tuple(order)

    def predecessors(self, name: str) -> list[str]:
        return sorted(self._predecessors[name], key=self._index.__getitem__)

    def successors(self, name: str) -> list[str]:
        return sorted(self._successors[name], key=self._index.__getitem__)

    def ancestors(self, name: str) -> set[str]:
        return reachable(name, self._predecessors)

    def edges(self) -> list[tuple[str, str]]:
        """All edges, sorted by the names of their ends."""
        return sorted(self._edges, key=lambda e: (self._index[e[1]], self._index[e[0]]))

    def reduced_edges(self) -> list[tuple[str, str]]:
        """The edges of the transitive reduction (requires an acyclic graph): an edge u → v stays unless v
        is reached through another successor of u."""
        order = self.order()
        position = {name: i for i, name in enumerate(order)}
        below: dict[str, int] = {}
        """Step → its descendants, as a bitset over positions in `order`."""
        for name in reversed(order):
            below[name] = 0
            for downstream in self._successors[name]:
                below[name] |= below[downstream] | 1 << position[downstream]
        reduced = []
        for name in order:
            reached = 0
            for downstream in sorted(self._successors[name], key=position.__getitem__):
                if not reached >> position[downstream] & 1:
                    reduced.append((name, downstream))
                reached |= below[downstream]
        return sorted(reduced, key=lambda e: (self._index[e[1]], self._index[e[0]]))

    def critical_path(self, costs: Mapping[str, int]) -> int:
        """The longest path through the graph, weighing each step by `costs` (default 1)."""
        finish: dict[str, int] = {}
        for name in self.order():
            finish[name] = costs.get(name, 1) + max((finish[u] for u in self._predecessors[name]), default=0)
        return max(finish.values(), default=0)


class _Inlined:
    """Name → the names it stands for: itself, or what an inlined step waits for (resolved once)."""

    def __init__(self, writers: dict[str, list[str]], inlined: Mapping[str, Step]):
        self.writers = writers
        self.inlined = inlined
        self.resolved: dict[str, list[str]] = {}

    def __call__(self, name: str) -> list[str]:
        if name not in self.inlined:
            return [name]
        if name not in self.resolved:
            self.resolved[name] = list(dict.fromkeys(
                n for d in dependencies(self.inlined[name], self.writers) for n in self(d)))
        return self.resolved[name]


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
    import networkx

    graph: nx.DiGraph = networkx.DiGraph()
    graph.add_nodes_from(step.name for step in walk(pipeline.steps))
    for _, level in levels(pipeline):
        for upstream, downstream in level.edges():
            for before in walk((level.steps[upstream],)):
                graph.add_edges_from((before.name, after.name) for after in walk((level.steps[downstream],)))
    return graph


def pipeline_graph(project: Project) -> nx.DiGraph:
    """Pipelines of `project` as a DAG by `depends_on` (edges to pipelines outside are left out)."""
    import networkx

    graph: nx.DiGraph = networkx.DiGraph()
    names = [p.name for p in project.pipelines]
    graph.add_nodes_from(names)
    for pipeline in project.pipelines:
        for upstream in pipeline.depends_on:
            if upstream in names:
                graph.add_edge(upstream, pipeline.name)
    return graph
