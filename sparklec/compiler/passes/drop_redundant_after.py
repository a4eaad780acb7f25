"""Pass `drop-redundant-after`: remove `after` entries that other dependencies already imply.

If c is `after` a and b, and b already waits for a, c's `after a` adds
nothing; backends would otherwise emit extra edges (Argo `depends`, Step
Functions synchronisation).  Only explicit `after` entries are dropped; the
reachability of every step — the transitive closure — is unchanged.
"""

from __future__ import annotations

import attrs

from sparklec.ir.graph import StepGraph, dataset_writers
from sparklec.ir.pipeline import Pipeline, Project
from sparklec.ir.tasks import Branch, ForEach, Step


class DropRedundantAfter:
    name = "drop-redundant-after"

    def run(self, project: Project) -> Project:
        return attrs.evolve(project, pipelines=tuple(self._pipeline(p) for p in project.pipelines))

    def _pipeline(self, pipeline: Pipeline) -> Pipeline:
        writers = dataset_writers(pipeline)
        return attrs.evolve(pipeline, steps=self._level(pipeline.steps, writers))

    def _level(self, steps: tuple[Step, ...], writers: dict[str, list[str]]) -> tuple[Step, ...]:
        graph = StepGraph(steps, writers)
        order = graph.order()
        position = {name: i for i, name in enumerate(order)}
        ancestors: dict[str, int] = {}
        """Step → its ancestors, as a bitset over positions in `order`."""
        for name in order:
            ancestors[name] = 0
            for upstream in graph.predecessors(name):
                ancestors[name] |= ancestors[upstream] | 1 << position[upstream]
        result = []
        for step in steps:
            if isinstance(step, ForEach):
                step = attrs.evolve(step, body=self._level(step.body, writers))
            elif isinstance(step, Branch):
                step = attrs.evolve(step, then=self._level(step.then, writers),
                                    otherwise=self._level(step.otherwise, writers))
            implied = 0  # what `step` waits for through one of its other predecessors
            for upstream in graph.predecessors(step.name):
                implied |= ancestors[upstream]
            redundant = {name for name in step.after if name in position and implied >> position[name] & 1}
            if redundant:
                step = attrs.evolve(step, after=tuple(n for n in step.after if n not in redundant))
            result.append(step)
        return tuple(result)
