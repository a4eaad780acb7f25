"""What `sparklec run` shows: the plan, live progress, the summary table and the rows failing checks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree
from typing_extensions import assert_never

from sparklec.ir.text import check_text, condition
from sparklec.ir import tasks as t
from sparklec.ir.graph import StepGraph, dataset_writers
from sparklec.ir.pipeline import Pipeline, Project
from sparklec.local.engine import (FAILED, RUNNING, SKIPPED, SUCCEEDED, WARNED, Binding, Listener, TaskRun, cannot_run,
                                   duckdb_statements, local_sql, not_landed, pipeline_order)

STYLES = {SUCCEEDED: "green", FAILED: "bold red", WARNED: "yellow", SKIPPED: "dim"}
MARKS = {SUCCEEDED: "✓", FAILED: "✗", WARNED: "!", SKIPPED: "–"}


@contextmanager
def live_progress(console: Console) -> Iterator[Listener]:
    """A listener that shows the running tasks with spinners and prints a line as each one ends."""
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as progress:
        shown: dict[tuple[str, str], TaskID] = {}

        def listen(run: TaskRun) -> None:
            key = (run.pipeline, run.name)
            if run.status == RUNNING:
                shown[key] = progress.add_task(f"{escape(run.pipeline)}.{escape(run.name)}")
                return
            if key in shown:
                progress.remove_task(shown.pop(key))
            rows = f"  {run.rows_out:,} rows" if run.rows_out is not None else ""
            progress.console.print(f"[{STYLES[run.status]}]{MARKS[run.status]}[/] {escape(run.pipeline)}."
                                   f"{escape(run.name)}[dim]{rows}  {escape(run.detail)}[/]", highlight=False)
        yield listen


def summary(console: Console, runs: Sequence[TaskRun], written: Sequence[Path]) -> None:
    """The table of every task's outcome, then the failing rows of each failed check."""
    table = Table(title="sparklec run", title_justify="left")
    table.add_column("task", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for header in ("rows in", "rows out", "seconds"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("detail")
    several = len({run.pipeline for run in runs}) > 1
    for run in runs:
        table.add_row(escape(f"{run.pipeline}.{run.name}" if several else run.name),
                      f"[{STYLES[run.status]}]{run.status}[/]",
                      _count(run.rows_in), _count(run.rows_out),
                      f"{run.seconds:.2f}" if run.status not in (SKIPPED,) else "", escape(run.detail))
    console.print(table)
    for run in runs:
        for check in (c for c in run.checks if c.failures):
            console.print(f"\n[{STYLES[run.status]}]{escape(run.pipeline)}.{escape(run.name)}: "
                          f"{escape(check.check)} — {check.failures:,} failing row{'s' if check.failures != 1 else ''}"
                          f"{f' (the first {len(check.sample)})' if len(check.sample) < check.failures else ''}[/]")
            sample = Table()
            for column in check.columns:
                sample.add_column(escape(column))
            for row in check.sample:
                sample.add_row(*(escape("NULL" if value is None else repr(value) if isinstance(value, str)
                                        else str(value)) for value in row))
            console.print(sample)
    for path in written:
        console.print(f"wrote {escape(str(path))}", highlight=False)


def _count(rows: int | None) -> str:
    return "" if rows is None else f"{rows:,}"


def plan(console: Console, project: Project, bindings: Sequence[Binding]) -> None:
    """What a run would do, step by step, without doing it."""
    for pipeline in pipeline_order(project):
        tree = Tree(f"[bold]{escape(pipeline.name)}[/]")
        for binding in (b for b in bindings if b.pipeline == pipeline.name and pipeline.dataset(b.relation)
                        and not b.seeds):
            where = binding.path if binding.path is not None else "the table in the database"
            tree.add(f"source {escape(binding.relation)} ← {escape(str(where))}")
        planner = _Planner(pipeline, {b.relation: b for b in bindings if b.pipeline == pipeline.name})
        planner.steps(tree, pipeline.steps)
        if pipeline.on_failure:
            planner.steps(tree.add("on failure"), pipeline.on_failure)
        console.print(tree)


class _Planner:
    """The steps of one pipeline in the order a run takes them, each with what the run will do."""

    def __init__(self, pipeline: Pipeline, bound: dict[str, Binding]):
        self.pipeline, self.bound, self.sql = pipeline, bound, local_sql(pipeline)
        self.writers = dataset_writers(pipeline)

    def steps(self, tree: Tree, steps: tuple[t.Step, ...]) -> None:
        graph = StepGraph(steps, self.writers)
        for step in (graph.steps[name] for name in graph.order()):
            if isinstance(step, t.ForEach):
                items = f"{len(step.items)} items" if step.items is not None else f"the items of `{step.items_param}`"
                self.steps(tree.add(f"for each {escape(step.var)} in {escape(items)} ({escape(step.name)}), "
                                    "one at a time"), step.body)
            elif isinstance(step, t.Branch):
                branch = tree.add(f"if {escape(condition(step.condition))} ({escape(step.name)})")
                self.steps(branch.add("then"), step.then)
                if step.otherwise:
                    self.steps(branch.add("else"), step.otherwise)
            else:
                tree.add(f"{escape(step.name)}: {escape(self.action(step))}")

    def action(self, task: t.AnyTask) -> str:
        reason = cannot_run(task)
        if reason is not None:
            return f"skip — {reason}"
        match task:
            case t.Ingest():
                binding = self.bound.get(task.name)
                return f"read {binding.path or binding.table}" if binding else f"skip — {not_landed(task)}"
            case t.Transform():
                source = f"`{task.input}`" if task.input else "SQL"
                return f"build from {source} through {len(task.steps)} step{'s' if len(task.steps) != 1 else ''}"
            case t.Write():
                return f"write `{task.input}` into `{task.target}` ({task.mode})"
            case t.QualityCheck():
                return f"check `{task.input}`: " + ", ".join(check_text(c) for c in task.checks)
            case t.RunSql():
                statements, reason = duckdb_statements(self.sql, task)
                if reason is not None:
                    return f"skip — {reason}"
                return f"run {len(statements)} SQL statement{'s' if len(statements) != 1 else ''}"
            case (t.Train() | t.SelectModel() | t.Score() | t.Container() | t.Script() | t.KubernetesResource()
                  | t.Notify() | t.Approval() | t.Wait()):
                raise AssertionError(f"`{task.name}` has a reason not to run")
            case _:
                assert_never(task)
