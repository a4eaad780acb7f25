"""Pass `series-parallel`: make every level of a pipeline a series-parallel DAG.

Orchestrators without a DAG (Step Functions) can only run steps in sequence
and in nested parallel blocks.  A DAG maps exactly onto those when it is
series-parallel; any other DAG needs extra synchronisation, which costs
parallelism.  This pass adds the fewest `after` edges it can find, reports
what they cost, and `decompose` then turns each level into a `Series` /
`Parallel` tree.

The algorithm, on one level (its steps in a topological order):

1. One step is a leaf.
2. Steps that fall apart into several weakly connected components run as a
   `Parallel` of the components.
3. Otherwise look for *exact series cuts*: split points of the topological
   order where every step before reaches every step after.  Every such cut
   is a prefix of any topological order, so one scan finds them all: with
   each step's descendants as a bitset, the cut after position i is exact
   when the AND of the first i steps' descendants holds every later step.
   The cuts split the level into a `Series` of segments.
4. A connected level with no exact cut is not series-parallel.  It is cut
   anyway at the candidate that costs least — a boundary between two levels
   of the ASAP or the ALAP schedule, so no dependency points backwards —
   and every step before
   the cut is made to finish before every step after it starts: those are
   the added synchronisation edges.  The cost of a cut is the critical path
   of the part before plus that of the part after (each step costing 1, a
   group its body's critical path); ties go to the cut that orders the
   fewest pairs not already ordered.
5. Recurse into every part.

On a series-parallel level step 4 never runs, so nothing is added and no
parallelism is lost.  Elsewhere the pass reports the critical path of the
IR and of the structured result (W301), or only the added edges when the
critical path is unchanged (N301).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import reduce
from itertools import accumulate, pairwise
from operator import or_

import attrs

from sparklec.diagnostics import Diagnostic, Severity
from sparklec.ir.graph import StepGraph, dataset_writers, reachable
from sparklec.ir.pipeline import Pipeline, Project
from sparklec.ir.tasks import Branch, ForEach, Step, walk


@attrs.frozen(cache_hash=True)
class Leaf:
    name: str


@attrs.frozen(cache_hash=True)
class Series:
    parts: tuple[Tree, ...]


@attrs.frozen(cache_hash=True)
class Parallel:
    parts: tuple[Tree, ...]


Tree = Leaf | Series | Parallel


def decompose(order: Sequence[str], edges: Sequence[tuple[str, str]],
              costs: Mapping[str, int] | None = None) -> tuple[Tree, list[tuple[str, str]]]:
    """The series-parallel tree of a DAG and the edges added to make it one.

    `order` is a topological order of the nodes (ties broken as the output
    should be ordered); `costs` weighs the critical paths that choose among
    inexact cuts (1 for a node not named).
    """
    builder = _Builder(order, edges, costs or {})
    return builder.build(list(order)), builder.added


class _Builder:
    """Decomposes parts of one DAG, held as adjacency sets.  Any subset of the nodes sorted by their
    position in the given order is in topological order: the edges a cut adds only ever join two parts
    that are decomposed apart."""

    def __init__(self, order: Sequence[str], edges: Sequence[tuple[str, str]], costs: Mapping[str, int]):
        self.index = {n: i for i, n in enumerate(order)}
        self.successors: dict[str, set[str]] = {n: set() for n in order}
        self.predecessors: dict[str, set[str]] = {n: set() for n in order}
        for upstream, downstream in edges:
            self.successors[upstream].add(downstream)
            self.predecessors[downstream].add(upstream)
        self.costs = costs
        self.added: list[tuple[str, str]] = []

    def build(self, nodes: list[str]) -> Tree:
        """The tree of `nodes` (in the given order)."""
        if len(nodes) == 1:
            return Leaf(nodes[0])
        members = set(nodes)
        components = self._components(nodes, members)
        if len(components) > 1:
            del nodes, members
            return Parallel(tuple(self._build_each(components)))
        order = self._by_level(nodes, members)[0]
        cuts = _exact_cuts(order, self._descendants(order))
        if not cuts:
            cut_order, cut = self._cheapest_cut(nodes, members)
            before, after = cut_order[:cut], cut_order[cut:]
            self._synchronise(before, after)
            order, cuts = before + after, [cut]
        groups = [sorted(order[start:end], key=self.index.__getitem__)
                  for start, end in pairwise([0, *cuts, len(order)])]
        del nodes, members, order
        parts: list[Tree] = []
        for part in self._build_each(groups):
            parts.extend(part.parts if isinstance(part, Series) else (part,))
        return Series(tuple(parts))

    def _build_each(self, groups: list[list[str]]) -> list[Tree]:
        """The tree of each group, in order.  Each group is dropped as it is built, so a deep decomposition
        does not keep the node lists of every enclosing level alive."""
        groups.reverse()
        trees = []
        while groups:
            trees.append(self.build(groups.pop()))
        return trees

    def _components(self, nodes: list[str], members: set[str]) -> list[list[str]]:
        """The weakly connected components of `nodes` (in the given order), each in order, ordered by their
        first node."""
        component_of: dict[str, int] = {}
        count = 0
        for node in nodes:
            if node in component_of:
                continue
            component_of[node] = count
            pending = [node]
            while pending:
                current = pending.pop()
                for neighbours in (self.successors[current], self.predecessors[current]):
                    for neighbour in neighbours:
                        if neighbour not in component_of and neighbour in members:
                            component_of[neighbour] = count
                            pending.append(neighbour)
            count += 1
        components: list[list[str]] = [[] for _ in range(count)]
        for node in nodes:
            components[component_of[node]].append(node)
        return components

    def _by_level(self, nodes: list[str], members: set[str], alap: bool = False) -> tuple[list[str], list[int]]:
        """`nodes` (in the given order) ordered by level — depth below the sources, or (ALAP) negated height
        above the sinks — and each position's level.  Every edge goes from a lower level to a higher one."""
        level: dict[str, int] = {}
        if alap:
            for node in reversed(nodes):
                level[node] = min((level[s] - 1 for s in self.successors[node] if s in members), default=0)
        else:
            for node in nodes:
                level[node] = max((level[p] + 1 for p in self.predecessors[node] if p in members), default=0)
        lowest = min(level.values())
        buckets: list[list[str]] = [[] for _ in range(max(level.values()) - lowest + 1)]
        for node in nodes:
            buckets[level[node] - lowest].append(node)
        order = [node for bucket in buckets for node in bucket]
        return order, [level[n] for n in order]

    def _descendants(self, order: list[str]) -> list[int]:
        """Each node's descendants as a bitset over positions in `order`."""
        position = {n: i for i, n in enumerate(order)}
        bits = [0] * len(order)
        for i in range(len(order) - 1, -1, -1):
            for successor in self.successors[order[i]]:
                j = position.get(successor)
                if j is not None:
                    bits[i] |= bits[j] | (1 << j)
        return bits

    def _cheapest_cut(self, nodes: list[str], members: set[str]) -> tuple[list[str], int]:
        """The level boundary (an order and a position in it) with the shortest resulting critical path,
        then the fewest pairs of nodes it newly orders.

        Every edge goes from a lower level to a higher one, so the nodes before a boundary hold all their
        ancestors and those after it all their descendants: the two critical paths are running maxima of
        each node's longest path from the start and to the end, and the pairs a boundary orders change by
        one node's ancestors and descendants from one boundary to the next."""
        best: tuple[tuple[int, int], list[str], int] | None = None
        for alap in (False, True):
            order, levels = self._by_level(nodes, members, alap)
            position = {n: i for i, n in enumerate(order)}
            head: list[int] = []  # the longest path from the start through each node
            ancestors: list[int] = []  # as bitsets over positions
            for node in order:
                inside = [position[p] for p in self.predecessors[node] if p in position]
                head.append(self.costs.get(node, 1) + max((head[i] for i in inside), default=0))
                ancestors.append(reduce(or_, (ancestors[i] | 1 << i for i in inside), 0))
            tail = [0] * len(order)  # the longest path from each node to the end
            for i in range(len(order) - 1, -1, -1):
                tail[i] = self.costs.get(order[i], 1) + max(
                    (tail[position[s]] for s in self.successors[order[i]] if s in position), default=0)
            after = list(accumulate(reversed(tail), max))[::-1]
            descendants = self._descendants(order)
            before, ordered = 0, 0  # the longest path before the boundary; pairs across it already ordered
            for cut in range(1, len(order)):
                moved = cut - 1
                before = max(before, head[moved])
                ordered += descendants[moved].bit_count() - ancestors[moved].bit_count()
                if levels[cut] == levels[cut - 1]:
                    continue
                key = (before + after[cut], cut * (len(order) - cut) - ordered)
                if best is None or key < best[0]:
                    best = (key, order, cut)
        assert best is not None, "a connected DAG of two or more nodes has two levels"
        return best[1], best[2]

    def _synchronise(self, before: list[str], after: list[str]) -> None:
        """Make every node of `before` finish before every node of `after`: sinks → sources."""
        first, second = set(before), set(after)
        sinks = [n for n in before if not any(s in first for s in self.successors[n])]
        sources = [n for n in after if not any(p in second for p in self.predecessors[n])]
        for sink in sinks:
            reached = reachable(sink, self.successors)
            for source in sources:
                if source not in reached:
                    self.successors[sink].add(source)
                    self.predecessors[source].add(sink)
                    self.added.append((sink, source))


def _exact_cuts(order: list[str], descendants: list[int]) -> list[int]:
    """Positions i where every node before i reaches every node from i on."""
    cuts = []
    everything = (1 << len(order)) - 1
    common = everything
    for i in range(1, len(order)):
        common &= descendants[i - 1]
        rest = everything ^ ((1 << i) - 1)
        if common & rest == rest:
            cuts.append(i)
    return cuts


def flatten(tree: Tree) -> Tree:
    """`tree` with less nesting and the same critical path (in steps): a parallel block whose longest
    branch is a series ending in a parallel block becomes the head of that series, then one parallel block,
    when the other branches are no longer than the block that ends the series — ``a ∥ (b → (c ∥ d))``
    becomes ``b → (a ∥ c ∥ d)`` when ``len(a) ≤ len(c ∥ d)``.

    The lifted steps run before branches that did not wait for them (each of which still ends within the
    critical path).  A chain with work hanging off each link — a caterpillar, nested as deep as the chain
    is long — becomes the chain, then one parallel block of all that hung off it."""
    lengths: dict[int, int] = {}  # by id: hashing a tree hashes all of it
    made: list[Tree] = []  # every tree measured stays alive, so no id is reused while flattening

    def length(node: Tree) -> int:
        if isinstance(node, Leaf):
            return 1
        if id(node) not in lengths:
            lengths[id(node)] = (sum if isinstance(node, Series) else max)(length(part) for part in node.parts)
            made.append(node)
        return lengths[id(node)]

    def series(parts: list[Tree]) -> Tree:
        spliced = [inner for part in parts for inner in (part.parts if isinstance(part, Series) else (part,))]
        return spliced[0] if len(spliced) == 1 else Series(tuple(spliced))

    def parallel(parts: list[Tree]) -> list[Tree]:
        return [inner for part in parts for inner in (part.parts if isinstance(part, Parallel) else (part,))]

    def flat(node: Tree) -> Tree:
        if isinstance(node, Leaf):
            return node
        parts = [flat(part) for part in node.parts]
        if isinstance(node, Series):
            return series(parts)
        lifted: list[Tree] = []
        parts = parallel(parts)
        while True:
            sizes = [length(part) for part in parts]
            longest = max(range(len(parts)), key=sizes.__getitem__)
            main = parts[longest]
            others = max((size for i, size in enumerate(sizes) if i != longest), default=0)
            if not isinstance(main, Series) or not isinstance(main.parts[-1], Parallel) \
                    or others > length(main.parts[-1]):
                break
            lifted += main.parts[:-1]
            parts[longest:longest + 1] = main.parts[-1].parts
        block = parts[0] if len(parts) == 1 else Parallel(tuple(parts))
        lengths[id(block)] = max(sizes)
        made.append(block)
        return series([*lifted, block])

    return flat(tree)


def tree_critical_path(tree: Tree, costs: Mapping[str, int] | None = None) -> int:
    """The longest path through a series-parallel tree."""
    if isinstance(tree, Leaf):
        return (costs or {}).get(tree.name, 1)
    lengths = [tree_critical_path(part, costs) for part in tree.parts]
    return sum(lengths) if isinstance(tree, Series) else max(lengths)


class SeriesParallel:
    """Add the `after` edges that make every level series-parallel; `notes` says what they cost.

    `inlined` names, per pipeline, the steps the target runs inside others (see `StepGraph`)."""

    name = "series-parallel"

    def __init__(self, inlined: Callable[[Pipeline], Mapping[str, Step]] | None = None) -> None:
        self.inlined = inlined

    def run(self, project: Project) -> Project:
        return attrs.evolve(project, pipelines=tuple(
            attrs.evolve(p, steps=self._level(p.steps, dataset_writers(p), self._inlined(p))[0])
            for p in project.pipelines))

    def notes(self, before: Project, after: Project) -> list[Diagnostic]:
        """W301 (parallelism lost) or N301 (edges added, critical path kept) for each pipeline the pass changed."""
        notes = []
        for old, new in zip(before.pipelines, after.pipelines, strict=True):
            added, longest_before, longest_after = self.cost(old, new)
            if not added:
                continue
            pairs = ", ".join(f"{u} → {v}" for u, v in added[:5]) + (", ..." if len(added) > 5 else "")
            lost = longest_before != longest_after
            notes.append(Diagnostic(
                code="W301" if lost else "N301", severity=Severity.WARNING if lost else Severity.NOTE,
                message=f"pipeline `{old.name}` is not series-parallel: {len(added)} synchronisation "
                        f"edge(s) added ({pairs}); critical path {longest_before} → {longest_after} steps",
                span=old.span,
                help="the target runs steps only in sequence or in parallel blocks"
                     + ("; reorder dependencies to keep the lost parallelism" if lost else ""),
            ))
        return notes

    def cost(self, before: Pipeline, after: Pipeline) -> tuple[list[tuple[str, str]], int, int]:
        """The edges the pass added to `before` to make `after`, and the critical path (in steps) of each."""
        old = {s.name: s.after for s in walk(before.steps)}
        added = [(upstream, s.name) for s in walk(after.steps) for upstream in s.after if upstream not in old[s.name]]
        writers, inlined = dataset_writers(before), self._inlined(before)
        return added, _critical_path(before.steps, writers, inlined), _critical_path(after.steps, writers, inlined)

    def _inlined(self, pipeline: Pipeline) -> Mapping[str, Step]:
        return self.inlined(pipeline) if self.inlined else {}

    def _level(self, steps: tuple[Step, ...], writers: dict[str, list[str]], inlined: Mapping[str, Step]
               ) -> tuple[tuple[Step, ...], int]:
        """The level with the edges added, and its critical path (each step's cost its body's)."""
        costs: dict[str, int] = {}
        rebuilt: list[Step] = []
        for step in steps:
            if isinstance(step, ForEach):
                body, costs[step.name] = self._level(step.body, writers, inlined)
                step = attrs.evolve(step, body=body)
            elif isinstance(step, Branch):
                then, then_cost = self._level(step.then, writers, inlined)
                otherwise, else_cost = self._level(step.otherwise, writers, inlined)
                costs[step.name] = max(then_cost, else_cost)
                step = attrs.evolve(step, then=then, otherwise=otherwise)
            rebuilt.append(step)
        graph = StepGraph(rebuilt, writers, inlined)
        if not graph.steps:
            return tuple(rebuilt), 0
        tree, synchronised = decompose(graph.order(), graph.reduced_edges(), costs)
        extra: dict[str, list[str]] = {}
        for upstream, downstream in synchronised:
            extra.setdefault(downstream, []).append(upstream)
        result = tuple(attrs.evolve(s, after=(*s.after, *extra[s.name])) if s.name in extra else s for s in rebuilt)
        return result, tree_critical_path(tree, costs)


def _critical_path(steps: tuple[Step, ...], writers: dict[str, list[str]], inlined: Mapping[str, Step]) -> int:
    """The longest chain of steps through a level, a loop or branch costing its body's."""
    costs = {}
    for step in steps:
        if isinstance(step, ForEach):
            costs[step.name] = _critical_path(step.body, writers, inlined)
        elif isinstance(step, Branch):
            costs[step.name] = max(_critical_path(step.then, writers, inlined),
                                   _critical_path(step.otherwise, writers, inlined))
    graph = StepGraph(steps, writers, inlined)
    return graph.critical_path(costs) if graph.steps else 0
