"""The shapes of Amazon States Language documents, for the type checker: a state machine and its states."""

from __future__ import annotations

from typing import Any, TypedDict


class Retrier(TypedDict, total=False):
    """An entry of a state's `Retry`."""

    ErrorEquals: list[str]
    IntervalSeconds: int
    MaxAttempts: int
    BackoffRate: float
    MaxDelaySeconds: int


class Catcher(TypedDict):
    """An entry of a state's `Catch`."""

    ErrorEquals: list[str]
    ResultPath: str
    Next: str


class State(TypedDict, total=False):
    """A state of any type: the fields its `Type` takes (Task, Pass, Choice, Wait, Parallel, Map, Fail)."""

    Type: str
    Comment: str
    Resource: str
    Parameters: dict[str, Any]
    ResultSelector: dict[str, Any]
    ResultPath: str | None
    OutputPath: str
    InputPath: str
    TimeoutSeconds: int
    Retry: list[Retrier]
    Catch: list[Catcher]
    Seconds: int
    Choices: list[dict[str, Any]]
    Default: str
    Branches: list[Machine]
    ItemsPath: str
    ItemSelector: dict[str, Any]
    ItemProcessor: dict[str, Any]
    MaxConcurrency: int
    Error: str
    Cause: str
    CausePath: str
    Next: str
    End: bool


class Machine(TypedDict, total=False):
    """A state machine, a parallel branch or a map's item processor: where it starts and its states."""

    Comment: str
    StartAt: str
    States: dict[str, State]
