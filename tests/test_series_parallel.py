"""The series-parallel structuring: exact on series-parallel DAGs, and never breaking a dependency."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import networkx as nx
from hypothesis import given
from hypothesis import strategies as st

from sparklec.compiler.passes import PassPipeline
from sparklec.compiler.passes.series_parallel import (
    Leaf, Parallel, Series, SeriesParallel, Tree, decompose, flatten, tree_critical_path,
)
from sparklec.ir.graph import levels
from sparklec.testing import projects


def leaves(tree: Tree) -> list[str]:
    return [tree.name] if isinstance(tree, Leaf) else [n for part in tree.parts for n in leaves(part)]


def ordered_pairs(tree: Tree) -> set[tuple[str, str]]:
    """(u, v) where the tree finishes u before it starts v."""
    if isinstance(tree, Leaf):
        return set()
    pairs = set().union(*(ordered_pairs(part) for part in tree.parts))
    if not isinstance(tree, Parallel):
        for i, earlier in enumerate(tree.parts):
            for later in tree.parts[i + 1:]:
                pairs |= {(u, v) for u in leaves(earlier) for v in leaves(later)}
    return pairs


@st.composite
def dags(draw: Any, max_nodes: int = 12) -> tuple[list[str], list[tuple[str, str]]]:
    count = draw(st.integers(1, max_nodes))
    nodes = [f"n{i}" for i in range(count)]
    edges = [(nodes[i], nodes[j]) for j in range(count) for i in range(j) if draw(st.integers(0, 3)) == 0]
    return nodes, edges


@st.composite
def series_parallel_dags(draw: Any, depth: int = 3) -> tuple[list[str], list[tuple[str, str]]]:
    """DAGs built by series and parallel composition (as sources → sinks)."""
    counter = iter(range(10_000))

    def build(level: int) -> tuple[list[str], list[tuple[str, str]], list[str], list[str]]:
        kind = draw(st.sampled_from(("leaf", "series", "parallel") if level < depth else ("leaf",)))
        if kind == "leaf":
            name = f"n{next(counter)}"
            return [name], [], [name], [name]
        parts = [build(level + 1) for _ in range(draw(st.integers(2, 3)))]
        nodes = [n for p in parts for n in p[0]]
        edges = [e for p in parts for e in p[1]]
        if kind == "parallel":
            return nodes, edges, [s for p in parts for s in p[2]], [t for p in parts for t in p[3]]
        for first, second in pairwise(parts):
            edges += [(u, v) for u in first[3] for v in second[2]]
        return nodes, edges, parts[0][2], parts[-1][3]

    nodes, edges, _, _ = build(0)
    return nodes, edges


def closure(nodes: list[str], edges: list[tuple[str, str]]) -> set[tuple[str, str]]:
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return set(nx.transitive_closure_dag(graph).edges)


@given(dags())
def test_every_dependency_is_kept_and_the_tree_is_exactly_the_synchronised_dag(dag: Any) -> None:
    nodes, edges = dag
    tree, added = decompose(nodes, edges)
    assert sorted(leaves(tree)) == sorted(nodes)
    assert ordered_pairs(tree) == closure(nodes, edges + added)


@given(series_parallel_dags())
def test_series_parallel_dags_lose_nothing(dag: Any) -> None:
    nodes, edges = dag
    tree, added = decompose(nodes, edges)
    assert added == []
    graph: nx.DiGraph = nx.DiGraph(edges)
    graph.add_nodes_from(nodes)
    assert tree_critical_path(tree) == nx.dag_longest_path_length(graph) + 1


def depth(tree: Tree) -> int:
    return 0 if isinstance(tree, Leaf) else 1 + max(depth(part) for part in tree.parts)


@given(dags())
def test_flattening_keeps_every_order_and_the_critical_path(dag: Any) -> None:
    tree = decompose(*dag)[0]
    flat = flatten(tree)
    assert sorted(leaves(flat)) == sorted(leaves(tree))
    assert ordered_pairs(flat) >= ordered_pairs(tree)
    assert tree_critical_path(flat) == tree_critical_path(tree)
    assert depth(flat) <= depth(tree) and flatten(flat) == flat


def test_a_caterpillar_becomes_its_chain_then_one_parallel_block() -> None:
    chain = [f"v{i}" for i in range(50)]
    edges = [*pairwise(chain), *((v, f"w{i}") for i, v in enumerate(chain))]
    tree = decompose([*chain, *(f"w{i}" for i in range(50))], edges)[0]
    assert depth(tree) == 99
    flat = flatten(tree)
    assert isinstance(flat, Series) and flat.parts[:-1] == tuple(map(Leaf, chain[:-1]))
    block = flat.parts[-1]
    assert isinstance(block, Parallel) and depth(flat) == 3
    assert set(block.parts) == {*(Leaf(f"w{i}") for i in range(49)), Series((Leaf("v49"), Leaf("w49")))}
    assert tree_critical_path(flat) == tree_critical_path(tree) == 51


def test_the_n_shape_needs_one_edge_and_keeps_its_critical_path() -> None:
    tree, added = decompose(["a", "b", "c", "d"], [("a", "c"), ("a", "d"), ("b", "d")])
    assert added == [("b", "c")]
    assert tree_critical_path(tree) == 2


@given(projects(max_pipelines=2))
def test_the_pass_leaves_every_level_series_parallel(project: Any) -> None:
    notes: list[Any] = []
    result = PassPipeline([SeriesParallel()], report=notes.extend).run(project)
    for pipeline in result.pipelines:
        for _, level in levels(pipeline):
            if level.steps:
                _, added = decompose(level.order(), level.reduced_edges())
                assert added == []
    assert all(d.code in ("W301", "N301") for d in notes)
