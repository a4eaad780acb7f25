"""Execution policies: retries, timeouts, resources, runtime and artifacts."""

from __future__ import annotations

import attrs

from sparklec.diagnostics import Span, span_field

RETRY_ON: tuple[str, ...] = ("all", "timeout", "task_failed", "throttled", "service_error")

RUNTIMES: tuple[str, ...] = (
    "glue", "emr_serverless", "ecs", "batch", "lambda", "athena", "databricks", "k8s",
)

SQL_KINDS: tuple[str, ...] = ("transform", "write", "quality_check", "run_sql")
"""The task kinds that are SQL statements."""
JOB_KINDS: tuple[str, ...] = ("ingest", "train", "score", "select_model")
"""The task kinds that run as a job of the user's (a Glue job, a Databricks job, ...)."""
CONTAINER_KINDS: tuple[str, ...] = ("container", "script")
"""The task kinds that run an image."""
RUNTIME_KINDS: dict[str, tuple[str, ...]] = {
    "glue": SQL_KINDS + JOB_KINDS, "emr_serverless": SQL_KINDS + JOB_KINDS, "ecs": CONTAINER_KINDS,
    "batch": CONTAINER_KINDS, "lambda": JOB_KINDS, "athena": SQL_KINDS, "databricks": SQL_KINDS + JOB_KINDS,
    "k8s": (*CONTAINER_KINDS, "kubernetes_resource"),
}
"""Runtime → the task kinds it can run.  Other kinds (notify, wait, approval) need no runtime."""


def can_run(runtime: str | None, kind: str) -> bool:
    """Whether `runtime` runs tasks of `kind` (a snake-case kind name such as ``quality_check``)."""
    return runtime is not None and kind in RUNTIME_KINDS.get(runtime, ())


ARTIFACT_STORES: tuple[str, ...] = ("s3", "gcs", "azure", "artifactory", "http")


@attrs.frozen(kw_only=True)
class Retry:
    """Retry a failed task `limit` times, waiting `interval` seconds times `backoff`^n."""

    limit: int
    interval: int = 60
    backoff: float = 2.0
    max_delay: int | None = None
    on: tuple[str, ...] = ("all",)
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class Resources:
    """Kubernetes-style compute requests and limits (``cpu: "2"``, ``memory: "4Gi"``)."""

    cpu_request: str | None = None
    memory_request: str | None = None
    cpu_limit: str | None = None
    memory_limit: str | None = None
    span: Span | None = span_field()


@attrs.frozen(kw_only=True)
class Policy:
    """How a task runs. Unset fields inherit the pipeline's default policy."""

    retry: Retry | None = None
    timeout: int | None = None
    resources: Resources | None = None
    runtime: str | None = None
    span: Span | None = span_field()

    def over(self, defaults: Policy) -> Policy:
        """This policy with unset fields taken from `defaults`."""
        return Policy(
            retry=self.retry or defaults.retry,
            timeout=self.timeout if self.timeout is not None else defaults.timeout,
            resources=self.resources or defaults.resources,
            runtime=self.runtime or defaults.runtime,
            span=self.span,
        )


@attrs.frozen(kw_only=True)
class Artifact:
    """A file a task reads or writes at `path`.

    It lives in a store (`store` and `location`, e.g. ``s3`` and
    ``s3://bucket/key``), or — for inputs — comes from another task's output
    artifact, named ``task.artifact`` in `source`.
    """

    name: str
    path: str
    store: str | None = None
    location: str | None = None
    source: str | None = None
    span: Span | None = span_field()
