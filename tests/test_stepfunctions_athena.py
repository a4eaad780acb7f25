"""The Step Functions state machines of the examples that run on Athena, executed as written by moto with
their queries run on DuckDB (`stepfunctions_standin`), leave the tables `sparklec run` leaves: over two runs
with new and changed rows in between, and a failing check fails the run and leaves the targets as they were."""

from __future__ import annotations

from pathlib import Path

import duckdb
import networkx as nx
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from oracle import Example, random_project, twice_at_random, written_tables
from sparklec.backends import get_backend
from sparklec.compiler.driver import lower
from sparklec.compiler.passes import PassPipeline
from sparklec.compiler.passes.series_parallel import Leaf, Series, Tree, decompose, flatten
from sparklec.diagnostics import LoweringError
from sparklec.ir import Project
from sparklec.local.engine import pipeline_order, table_exists
from sparklec.lowering import Level, build_plans
from sparklec.testing import projects
from stepfunctions_standin import made_first, run_machine

ATHENA_EXAMPLES = ["customer_silver_daily", "gold_aggregate", "scd2_dimension", "silver_transformation"]
"""The examples whose every task runs on Athena (or is a Step Functions state)."""
ATHENA_KINDS = ("transform", "write", "check", "sql", "notify", "wait")
"""The kinds of task that run on Athena or as a Step Functions state."""


class Both(Example):
    """One example run by `sparklec run` (the reference) and by its state machine, each on its own database."""

    def __init__(self, name: str, tmp_path: Path):
        super().__init__(name, tmp_path, "machine")
        self.machine = lower(self.project, "stepfunctions", {})["state_machine.json"]

    def run(self) -> str:
        """Both runs (the reference must succeed); the machine's status."""
        self.run_reference()
        self.land()
        status, _ = run_machine(self.machine, self.database, {})
        return status

    def land(self) -> None:
        """The sources as the data folder has them; the targets, when missing, as empty tables."""
        super().land()
        made_first(self.database, self.reference, self.targets)


@pytest.mark.parametrize("name", ATHENA_EXAMPLES)
def test_the_state_machine_leaves_the_tables_sparklec_run_leaves_over_two_runs(name: str, tmp_path: Path) -> None:
    both = Both(name, tmp_path)
    both.twice(both.run, "SUCCEEDED")


def test_a_failing_check_fails_the_run_and_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    both = Both("customer_silver_daily", tmp_path)
    assert both.run() == "SUCCEEDED"
    before = both.target_rows()
    both.break_a_check()
    both.land()
    status, services = run_machine(both.machine, both.database, {})
    athena = services.athena
    assert status == "FAILED" and before == both.target_rows(), status
    assert not any(q.startswith(("DELETE", "INSERT", "MERGE")) for q in athena.queries[athena.queries.index(
        next(q for q in athena.queries if "COUNT(*)" in q)):]), "nothing is written after the check"


@settings(max_examples=max(3, settings().max_examples // 10), deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(projects(max_pipelines=3, max_steps=6, kinds=ATHENA_KINDS), st.data())
def test_the_state_machines_of_a_random_project_leave_the_tables_sparklec_run_leaves(project: Project,
                                                                                     data: st.DataObject) -> None:
    """Random projects over messy rows, their SQL on Athena, run twice with new rows: every table `sparklec run`
    writes, the state machines (run in dependency order) leave the same, their targets made empty before the
    first run, as Athena's must be.  A failing task stops only what depends on it; where the machine orders
    steps that do not depend on each other, it stops those too, so runs of such projects where a task fails
    are rejected."""
    project = random_project(project)
    try:
        artifacts = lower(project, "stepfunctions", {})
    except LoweringError:
        reject()  # SQL Athena cannot say without the columns: an error of its own
    single = len(project.pipelines) == 1

    def machines(project: Project, database: Path, reference: Path) -> None:
        with duckdb.connect(str(reference), read_only=True) as connection:
            made = [d for d in written_tables(project).values() if table_exists(connection, d.schema, d.table)]
        with duckdb.connect(str(database)) as connection:
            made_first(connection, reference, made)
            for pipeline in pipeline_order(project):
                run_machine(artifacts["state_machine.json" if single else f"{pipeline.name}/state_machine.json"],
                            connection, {})

    assert twice_at_random(project, data, machines, stops_at_a_failure=not orders_only_dependencies(project)) > 0


def orders_only_dependencies(project: Project) -> bool:
    """Whether the state machines order no steps beyond the dependencies `sparklec run` follows: in every level
    of every plan, each step the series-parallel tree runs after another depends on it (transitively)."""
    backend = get_backend("stepfunctions")
    assert backend.profile is not None
    passed = PassPipeline(backend.passes()).run(project)
    own = {_names(level): level for plan in build_plans(project, backend.profile) for level in plan.steps.levels()}
    for plan in build_plans(passed, backend.profile):
        for level in filter(lambda level: level.steps, plan.steps.levels()):
            graph = nx.DiGraph(own[_names(level)].edges)
            graph.add_nodes_from(step.name for step in level.steps)
            closure = nx.transitive_closure_dag(graph)
            tree, _ = decompose([step.name for step in level.steps], level.edges)
            if not all(closure.has_edge(*pair) for pair in _ordered(flatten(tree))):
                return False
    return True


def _names(level: Level) -> frozenset[str]:
    return frozenset(step.name for step in level.steps)


def _ordered(tree: Tree) -> set[tuple[str, str]]:
    """The pairs (first, then) of leaves that `tree` runs one after the other."""
    if isinstance(tree, Leaf):
        return set()
    pairs = set().union(*(_ordered(part) for part in tree.parts))
    if isinstance(tree, Series):
        for index, first in enumerate(tree.parts):
            pairs |= {(a, b) for later in tree.parts[index + 1:] for a in _leaves(first) for b in _leaves(later)}
    return pairs


def _leaves(tree: Tree) -> list[str]:
    return [tree.name] if isinstance(tree, Leaf) else [name for part in tree.parts for name in _leaves(part)]
