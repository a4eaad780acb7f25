"""A conformance kit for backends: what a backend writes runs every step once, after everything it depends on,
and the same input gives the same files.

    from sparklec.testing import projects
    from sparklec.testing.conformance import check_backend

    @given(projects())
    def test_my_backend_conforms(project):
        check_backend(backend, read_back, optimise(project))

`read_back(artifacts)` reads the backend's files into, per pipeline (any key
when there is one), the names of the tasks they run as the IR names them (a
task once, even inside a loop; tasks of the backend's own, such as alerts, are
not counted) and the pairs (a, b) of "b starts after a ends".  The order the files must keep comes from the IR's
own references — `after`, the relations a task reads, the datasets it reads that
another task writes — not from the plan builder or the backend.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping

import networkx as nx

from sparklec.backends import LANDED, Artifacts, Backend
from sparklec.compiler.passes import PassPipeline
from sparklec.ir import tasks as t
from sparklec.ir.pipeline import Pipeline, Project
from sparklec.lowering import inlined_transforms

TaskGraph = tuple[list[str], set[tuple[str, str]]]
"""The tasks a pipeline's files run, and the pairs (a, b) of tasks where b starts after a ends."""


def check_backend(backend: Backend, read_back: Callable[[Artifacts], Mapping[str, TaskGraph]], project: Project,
                  options: Mapping[str, str] | None = None) -> int:
    """Lower the optimised `project` with `backend` (after the passes it declares) twice and check what
    `read_back` finds: every task that is not inlined into another's SQL exactly once, every dependency of the
    IR kept, no cycle, the same files both times.  Tasks the backend leaves out (`Artifacts.left_out`) are not
    looked for, and no task may run that needs one, unless its data has landed before the run (`LANDED`).
    Returns how many ordered pairs of tasks it compared."""
    project = PassPipeline(backend.passes()).run(project)
    artifacts = backend.lower(project, options or {})
    assert dict(artifacts) == dict(backend.lower(project, options or {})), "the output is deterministic"
    left_out = getattr(artifacts, "left_out", {})
    graphs = read_back(Artifacts(artifacts))
    compared = 0
    for pipeline in project.pipelines:
        inlined = inlined_transforms(pipeline, backend.profile) if backend.profile else {}
        left = {task: why for (name, task), why in left_out.items() if name == pipeline.name}
        tasks, edges = graphs.get(pipeline.name, ([], set())) if len(project.pipelines) > 1 else \
            next(iter(graphs.values()), ([], set()))
        expected = {task.name for task in t.walk(pipeline.steps) if isinstance(task, t.Task)} - set(inlined)
        expected = (expected | {task.name for task in pipeline.on_failure}) - set(left)
        named = {task.name for task in t.walk((*pipeline.steps, *pipeline.on_failure)) if isinstance(task, t.Task)}
        found = Counter(task for task in tasks if task in named)  # loops, branches and a backend's own tasks aside
        assert found == Counter(expected), f"{pipeline.name}: every task exactly once: {found} ≠ {sorted(expected)}"
        given = nx.DiGraph(list(edges))
        given.add_nodes_from(tasks)
        assert nx.is_directed_acyclic_graph(given), f"{pipeline.name}: the tasks wait for each other in a cycle"
        required = [(a, b) for a, b in _required(pipeline, set(inlined)) if b not in left]
        for before, after in required:
            assert left.get(before, LANDED) == LANDED, \
                f"{pipeline.name}: `{after}` runs although `{before}`, which it needs, does not ({left[before]})"
        for before, after in required:
            if before not in left:
                assert nx.has_path(given, before, after), \
                    f"{pipeline.name}: `{after}` must start after `{before}` ends"
                compared += 1
    return compared


def ir_levels(steps: tuple[t.Step, ...]) -> list[tuple[t.Step, ...]]:
    """Every level of steps: `steps`, then the bodies of its loops and the arms of its branches, all the way down."""
    found = [steps]
    for step in steps:
        if isinstance(step, t.ForEach):
            found += ir_levels(step.body)
        elif isinstance(step, t.Branch):
            found += ir_levels(step.then) + ir_levels(step.otherwise)
    return found


def required_order(steps: tuple[t.Step, ...], pipeline: Pipeline) -> nx.DiGraph:
    """The steps of one level with an edge from each step to every step that names it or something inside it: in
    `after`, by reading what it makes, by waiting for it, or by reading a dataset it writes."""
    writers: dict[str, set[str]] = {}
    for task in t.walk(pipeline.steps):
        if isinstance(task, t.Write):
            writers.setdefault(task.target, set()).add(task.name)
    owner = {inner.name: step.name for step in steps for inner in t.walk((step,))}
    graph = nx.DiGraph()
    graph.add_nodes_from(step.name for step in steps)
    for step in steps:
        for inner in t.walk((step,)):
            names = set(inner.after)
            if isinstance(inner, t.Task):
                names |= set(inner.reads()) | set(inner.waits_for())
                names |= {w for relation in inner.reads() for w in writers.get(relation, ())}
            graph.add_edges_from((owner[n], step.name) for n in names if owner.get(n, step.name) != step.name)
    return graph


def _required(pipeline: Pipeline, inlined: set[str]) -> list[tuple[str, str]]:
    """The pairs of tasks (a, b), not inlined, where b must start after a ends."""
    pairs: list[tuple[str, str]] = []
    for steps in ir_levels(pipeline.steps):
        inside = {step.name: [s.name for s in t.walk((step,)) if isinstance(s, t.Task) and s.name not in inlined]
                  for step in steps}
        graph = required_order(steps, pipeline)
        for upstream in graph:
            for downstream in nx.descendants(graph, upstream):
                pairs += [(a, b) for a in inside[upstream] for b in inside[downstream]]
    return pairs
