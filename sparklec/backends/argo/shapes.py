"""The shapes of Argo Workflows documents, for the type checker: templates and the tasks of their DAGs."""

from __future__ import annotations

from typing import Any, TypedDict


class DagTask(TypedDict, total=False):
    """A task of a DAG template, or a step of a steps template."""

    name: str
    template: str
    arguments: dict[str, Any]
    depends: str
    when: str
    withItems: list[Any]
    withParam: str


class Template(TypedDict, total=False):
    """A template: its inputs and outputs, and one of container, script, resource, suspend, dag or steps."""

    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    container: dict[str, Any]
    script: dict[str, Any]
    resource: dict[str, Any]
    suspend: dict[str, Any]
    dag: dict[str, Any]
    steps: list[list[DagTask]]
    parallelism: int
    activeDeadlineSeconds: int
    retryStrategy: dict[str, Any]
