"""Pass `fuse-transforms`: a transform read by exactly one other transform merges into it.

``a = from raw | x`` followed by ``b = from a | y``, where nothing else uses
`a`, becomes ``b = from raw | x | y``: one relation, one model, one query
with a CTE per step, instead of a relation materialised only to be read
once.  A relation with several consumers stays on its own (it is
materialised once rather than computed twice); so does one that policies,
artifacts, dependencies or worked examples single out (an example tests the
transform it is written for, reading what that transform reads).  The result of every remaining
relation is unchanged.
"""

from __future__ import annotations

from collections import Counter

import attrs

from sparklec.ir.pipeline import Pipeline, Project
from sparklec.ir.tasks import Branch, ForEach, Step, Task, Transform, condition_results, walk


class FuseTransforms:
    name = "fuse-transforms"

    def run(self, project: Project) -> Project:
        return attrs.evolve(project, pipelines=tuple(self._pipeline(p) for p in project.pipelines))

    def _pipeline(self, pipeline: Pipeline) -> Pipeline:
        while True:
            uses = _uses(pipeline)
            fused = self._level(pipeline.steps, uses)
            if fused == pipeline.steps:
                return pipeline
            pipeline = attrs.evolve(pipeline, steps=fused)

    def _level(self, steps: tuple[Step, ...], uses: Counter[str]) -> tuple[Step, ...]:
        by_name = {s.name: s for s in steps}
        for step in steps:
            upstream = by_name.get(step.input) if isinstance(step, Transform) and step.input else None
            if (isinstance(step, Transform) and isinstance(upstream, Transform) and uses[upstream.name] == 1
                    and not upstream.inputs and not upstream.outputs and not step.inputs
                    and upstream.policy == step.policy and not upstream.description
                    and not upstream.examples and not step.examples):
                merged = attrs.evolve(
                    step, input=upstream.input, sql=upstream.sql, steps=upstream.steps + step.steps,
                    after=tuple(dict.fromkeys(n for n in (*upstream.after, *step.after) if n != upstream.name)),
                    ref_spans=upstream.ref_spans + step.ref_spans,
                )
                return tuple(merged if s is step else s for s in steps if s is not upstream)
        return tuple(self._group(s, uses) for s in steps)

    def _group(self, step: Step, uses: Counter[str]) -> Step:
        if isinstance(step, ForEach):
            return attrs.evolve(step, body=self._level(step.body, uses))
        if isinstance(step, Branch):
            return attrs.evolve(step, then=self._level(step.then, uses), otherwise=self._level(step.otherwise, uses))
        return step


def _uses(pipeline: Pipeline) -> Counter[str]:
    """How often each name is used: read, waited for, depended on or referred to by a condition."""
    uses: Counter[str] = Counter()
    for step in walk(pipeline.steps) + list(pipeline.on_failure):
        uses.update(step.after)
        if isinstance(step, Task):
            uses.update(step.reads())
            uses.update(step.waits_for())
        if isinstance(step, Branch):
            uses.update(r.task for r in condition_results(step.condition))
    for exposure in pipeline.exposures:
        uses.update(exposure.depends_on)
    return uses

