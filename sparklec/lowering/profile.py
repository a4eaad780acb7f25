"""What a target offers a pipeline: where each kind of task runs by default, and where SQL is inlined."""

from __future__ import annotations

import attrs

from sparklec.ir import tasks as t
from sparklec.ir.pipeline import Pipeline
from sparklec.ir.policy import CONTAINER_KINDS, JOB_KINDS, SQL_KINDS

RUNTIME_DIALECTS: dict[str, str] = {
    "athena": "athena", "databricks": "databricks", "glue": "spark", "emr_serverless": "spark", "k8s": "spark",
}
"""Runtime → the SQL dialect of the statements it runs: Databricks SQL on Databricks, Apache Spark's on Glue, EMR
and `spark-sql` in a pod (no ``SELECT * EXCEPT``, no catalog level), Trino's on Athena."""
RUNTIME_NAMES: dict[str, str] = {
    "athena": "Athena", "databricks": "Databricks", "glue": "AWS Glue", "emr_serverless": "EMR Serverless",
    "lambda": "AWS Lambda", "k8s": "Kubernetes", "ecs": "ECS", "batch": "AWS Batch",
}
"""Runtime → how its users call it."""
WAREHOUSE_KINDS: tuple[str, ...] = ("ingest", "transform", "write", "quality_check")
"""The kinds a warehouse target (`TargetProfile.warehouse`) builds, or reads as landed, itself."""
JOB_RUNTIMES: tuple[str, ...] = ("glue", "emr_serverless", "databricks", "lambda")
"""The runtimes that run a job of the user's, which receives the task's arguments."""


@attrs.frozen
class TargetProfile:
    """A target's defaults: `runtimes` gives the runtime of each task kind whose task and pipeline name none
    that can run it (kinds not listed need none: notify, wait, approval); `inline_runtime` is the runtime
    whose SQL steps run the transforms only they read inside their own statements (None: every transform is
    a step of its own); a `warehouse` target builds relations as models (dbt): its transforms, writes and
    checks are `Query`, `Materialize` and `Checks` steps with no runtime of their own, whatever runtime they
    name, and what an ingestion extracts is `Landing` data read where it lands."""

    name: str
    runtimes: tuple[tuple[str, str], ...]
    inline_runtime: str | None = None
    warehouse: bool = False

    def runtime(self, task: t.AnyTask, pipeline: Pipeline) -> str | None:
        """None for what a warehouse target builds itself; else the task's own runtime (the verifier made sure it
        can run the task), else the pipeline's default when that can run it, else the target's default for the
        kind."""
        if self.warehouse and t.kind_name(task) in WAREHOUSE_KINDS:
            return None
        return t.runtime_of(task, pipeline.defaults) or dict(self.runtimes).get(t.kind_name(task))


def defaults(sql: str, jobs: str, containers: str, kubernetes: str = "k8s") -> tuple[tuple[str, str], ...]:
    """The `TargetProfile.runtimes` that run SQL kinds on `sql`, jobs on `jobs` and containers on `containers`."""
    return (*((kind, sql) for kind in SQL_KINDS), *((kind, jobs) for kind in JOB_KINDS),
            *((kind, containers) for kind in CONTAINER_KINDS), ("kubernetes_resource", kubernetes))
