"""Running the compiler on a deep stack: chains and nested groups of a pipeline are walked recursively,
a few frames per link, so a chain thousands of steps long needs more than Python's default."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

DEEP_STACK = 512 * 1024 * 1024
"""The stack the work runs on (reserved, not used up front)."""
RECURSION_LIMIT = 200_000

T = TypeVar("T")


def on_deep_stack(work: Callable[[], T]) -> T:
    """`work()`, run in a thread with a deep stack; its result is returned and its exception raised here.
    Ctrl-C raises `KeyboardInterrupt` here at once (the thread is a daemon: it ends with the process)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as error:  # handed to the caller's thread as it is
            failure.append(error)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))
    previous = threading.stack_size(DEEP_STACK)
    try:
        worker = threading.Thread(target=run, name="sparklec", daemon=True)
        worker.start()
    finally:
        threading.stack_size(previous)
    worker.join()
    if failure:
        raise failure[0]
    return outcome[0]
