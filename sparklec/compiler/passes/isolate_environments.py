"""Pass `isolate-environments`: outside ``prod``, the tables a project writes get the environment's name.

`dev` and `prod` builds of one project would otherwise write the same tables.  Every dataset the project
writes or works on (a `Write` target, or a table a SQL task names as ``{{ name }}``: what maintenance,
governance and replication alter) moves, in each pipeline that names it, to the schema or
catalog `isolated` gives for that pipeline's `env` and `isolation`: ``lake.silver.orders`` becomes
``lake.dev_silver.orders`` in ``dev``.  Tables the project only reads (its sources) keep their names, as
dbt's sources do; so does what user SQL names literally.
"""

from __future__ import annotations

import attrs

from sparklec.ir.graph import dataset_writers
from sparklec.ir.pipeline import Dataset, Pipeline, Project, isolated
from sparklec.ir.tasks import RunSql, walk


class IsolateEnvironments:
    name = "isolate-environments"

    def run(self, project: Project) -> Project:
        written = {_table(d) for p in project.pipelines for name in _worked_on(p) if (d := p.dataset(name)) is not None}
        return attrs.evolve(project, pipelines=tuple(self._pipeline(p, written) for p in project.pipelines))

    @staticmethod
    def _pipeline(pipeline: Pipeline, written: set[tuple[str | None, str, str]]) -> Pipeline:
        datasets = []
        for dataset in pipeline.datasets:
            if _table(dataset) in written:
                catalog, schema = isolated(dataset.catalog, dataset.schema, pipeline.env, pipeline.isolation)
                dataset = attrs.evolve(dataset, catalog=catalog, schema=schema)
            datasets.append(dataset)
        return attrs.evolve(pipeline, datasets=tuple(datasets))


def _worked_on(pipeline: Pipeline) -> set[str]:
    return {*dataset_writers(pipeline), *(n for task in walk(pipeline.steps) if isinstance(task, RunSql)
                                          for n in task.tables())}


def _table(dataset: Dataset) -> tuple[str | None, str, str]:
    return dataset.catalog, dataset.schema, dataset.table
