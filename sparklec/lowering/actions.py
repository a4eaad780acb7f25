"""What a step of the plan does, in terms every target can print: one class per way of running work.

A backend dispatches over `Action` with ``match`` and `assert_never`, and so
never looks at the IR's task classes: the plan builder has already decided,
from the task's kind and its runtime, that an ingestion on Glue is a `Job`,
a transform on Athena is `Sql`, and that a notification goes to a typed
`Channel` with its subject and message filled in.
"""

from __future__ import annotations

from typing import Union

import attrs

from sparklec.ir import tasks as t
from sparklec.ir.channels import Channel
from sparklec.ir.pipeline import Dataset
from sparklec.ir.transformers import Op
from sparklec.ir.values import Column


@attrs.frozen
class CheckQuery:
    """One check of a quality gate: as written, and the query of its failing rows."""

    check: str
    sql: str


@attrs.frozen
class Gate:
    """What makes a check step fail: any failing row of any check when `severity` is ``error`` (``warn``
    reports them and goes on).  The step's one statement counts the failing rows as ``failures``."""

    severity: str
    checks: tuple[CheckQuery, ...]
    enforced: str
    """The one statement that fails when rows fail (severity ``error``), for runtimes that fail a step on a
    failing statement (Spark, a pod on Athena); else the count."""

    @property
    def fails(self) -> bool:
        """Whether failing rows fail the step."""
        return self.severity != "warn"


@attrs.frozen
class Sql:
    """Statements the step's runtime runs one after the other, in its dialect, the first creating the schemas and
    tables they write into when they are missing; with a `gate`, the one statement counts the rows that fail its
    checks."""

    statements: tuple[str, ...]
    gate: Gate | None = None


@attrs.frozen
class Job:
    """A job of the user's on the step's runtime (a Glue job, a Databricks job, a Lambda function...), started
    with `arguments`: ``task``, ``spec``, ``input``, ``target`` and, when the columns are known, ``sql``."""

    arguments: tuple[tuple[str, str], ...]


@attrs.frozen
class JdbcRead:
    """Copy table `source` of the JDBC connection named `connection` into `target` (Spark SQL, credentials
    from the environment), once `create_schema` has made the target's schema."""

    source: str
    connection: str | None
    target: str
    create_schema: str


@attrs.frozen
class Container:
    """Run `image` with `command`, `args` and `env`."""

    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class Script:
    """Run Python `source` in `image`."""

    image: str
    source: str


@attrs.frozen
class Resource:
    """Act on a Kubernetes object (`action`: create, apply, replace, patch, delete or get), done when
    `success_condition` holds, failed when `failure_condition` does."""

    action: str
    manifest: str
    success_condition: str | None = None
    failure_condition: str | None = None


@attrs.frozen
class Message:
    """A message to `channel`; `subject` and `message` are ``${...}`` templates."""

    channel: Channel
    subject: str
    message: str


@attrs.frozen
class Pause:
    """Wait `seconds`."""

    seconds: int


@attrs.frozen
class Approval:
    """Wait until someone approves; `prompt` tells them what."""

    prompt: str


@attrs.frozen
class Query:
    """A relation a warehouse target builds as a model (dbt): the transformer chain `steps` over `input`, whose
    columns are `columns` when they are known, or the user's `sql`, which names relations as ``{{ name }}``;
    `examples` are its worked examples."""

    input: str | None
    steps: tuple[Op, ...] = ()
    sql: str | None = None
    columns: tuple[Column, ...] | None = None
    examples: tuple[t.Example, ...] = ()


@attrs.frozen
class Materialize:
    """Keep the relation `input` in the table `target`: replaced (mode ``overwrite``), appended to, or merged on
    `unique_key`; rows newer than the table's `watermark` when it has one; partitioned by `partition_by`;
    `schema_change` says what a new column does (``fail``, ``append_new_columns``...)."""

    input: str
    target: Dataset
    mode: str = "append"
    unique_key: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    watermark: str | None = None
    schema_change: str = "fail"


@attrs.frozen
class Checks:
    """The checks of the relation `input`; rows failing them fail the step when `severity` is ``error``."""

    input: str
    checks: tuple[t.AnyCheck, ...]
    severity: str = "error"


@attrs.frozen
class Landing:
    """Data that `ingestor` extracts from `source` (of `system`) and lands in the table `schema`.`table` before
    a run; a target that does not run the extraction reads it there."""

    ingestor: str
    source: str
    system: str
    schema: str
    table: str
    columns: tuple[Column, ...] = ()


Action = Union[Sql, Job, JdbcRead, Container, Script, Resource, Message, Pause, Approval, Query, Materialize, Checks,
               Landing]
"""What a plan step does."""
