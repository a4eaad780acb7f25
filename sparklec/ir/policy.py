"""Execution policies: retries, timeouts, resources, runtime and artifacts."""

from __future__ import annotations

import attrs

from sparklec.diagnostics import Span, span_field

RETRY_ON: tuple[str, ...] = ("all", "timeout", "task_failed", "throttled", "service_error")

RUNTIMES: tuple[str, ...] = (
    "glue", "emr_serverless", "ecs", "batch", "lambda", "athena", "databricks", "k8s",
)

_SQL = ("transform", "write", "quality_check", "run_sql")
_JOBS = ("ingest", "train", "score", "select_model")
_CONTAINERS = ("container", "script")
RUNTIME_KINDS: dict[str, tuple[str, ...]] = {
    "glue": _SQL + _JOBS, "emr_serverless": _SQL + _JOBS, "ecs": _CONTAINERS, "batch": _CONTAINERS,
    "lambda": _JOBS, "athena": _SQL, "databricks": _SQL + _JOBS, "k8s": (*_CONTAINERS, "kubernetes_resource"),
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
