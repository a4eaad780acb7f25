"""The ASL state machine of a pipeline, built from the series-parallel structure of its steps.

The execution state is one object: ``params`` (the pipeline parameters:
defaults merged with the execution input), ``items`` (the literal lists
loops iterate over), ``vars`` inside loops (the loop variables) and
``result_<task>`` for each task whose result a condition reads or that
polls its own run.  Tasks discard their service's response
(`ResultPath: null`) otherwise, so the state stays a few kilobytes, far below
the 256 KB limit.  A parallel block whose branches produce results that are
read later merges the branches' states (their keys are distinct); a loop
iteration starts from the whole state plus its variables.

Errors: a failure stops only the steps after it in its own sequence, as
in `sparklec run`.  Top-level states catch everything into the failure
handler (the pipeline's `on_failure` tasks and alerts, then a `Fail` state).
In a parallel branch or a loop iteration, a failure ends that branch or
iteration with the error at ``$.error``, and the other branches and items
run on; the block collects the errors (``$.branches.errors``), and a Choice
after it sends the first one to the failure of the scope around it.  A
part's machine fails with the error, which the Task that started it
catches.  The series-parallel tree may order steps that do not depend on
each other (synchronisation edges, `N301`, and the flattening of deep
blocks): a failure also stops those.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from typing_extensions import assert_never

from sparklec.backends.stepfunctions.asl import Machine, State
from sparklec.backends.stepfunctions.integrations import NEXT, Fragment, Integrations, path_key, result_key
from sparklec.backends.formats import json_size
from sparklec.backends.stepfunctions.stack import Stack
from sparklec.diagnostics import Diagnostic, LoweringError
from sparklec.compiler.passes.series_parallel import Leaf, Parallel, Series, Tree, decompose, flatten
from sparklec.ir import tasks as t
from sparklec.lowering import ExecutionPlan, Level, PlanBranch, PlanLoop, PlanStep, PlanTask

Steps = Mapping[str, PlanStep]
"""The steps of one level by name."""
MAX_NAME = 80
MAX_NESTED_FUNCTIONS = 10
START, READ_PARAMETERS, FAILED = "Start", "Read parameters", "Failed"
PART_FAILED = "Part failed"
"""The state that fails a part's machine (each part is a machine of its own, so they share the name)."""
START_PART = "arn:aws:states:::states:startExecution.sync:2"
BLOCK = "$.branches"
"""Where a parallel block or a loop leaves what its branches or items end with."""


@attrs.frozen(cache_hash=True)
class Part:
    """Steps that run as a state machine of their own, started (and waited for) by the one that holds them."""

    tree: Tree


@attrs.define
class Scope:
    """Where states go: the machine's top level, or a parallel branch or loop body of it."""

    states: dict[str, State]
    failure: str | None
    """The state a failure in the scope goes to, with the error at ``$.error`` (None: none is caught)."""
    vars: tuple[str, ...] = ()
    loop: str | None = None
    """The innermost loop the scope is the body of."""


class MachineBuilder:
    """Builds the ASL definition of one pipeline."""

    def __init__(self, plan: ExecutionPlan, stack: Stack, options: dict[str, str], budget: int | None = None,
                 distributed: bool = False, sizes: Mapping[str, int] | None = None, like: MachineBuilder | None = None):
        """A builder; `like` is a builder of the same pipeline whose series-parallel trees this one reuses."""
        self.plan = plan
        self.stack = stack
        self.options = options
        self.budget = budget
        """The greatest weight one state machine holds; more is split into parts (None: no splitting)."""
        self.sizes = sizes or {}
        """Task name → its weight (default 1): a task's bytes in the definition, from `task_sizes`."""
        self.fragments: dict[str, dict[str, State]] = {}
        """Task name → the states it became."""
        self.distributed = distributed or options.get("map") == "distributed"
        self.parts: dict[str, Machine] = {}
        """Logical id (`Part1`, ...) → the definition of a part."""
        self.names: set[str] = set()
        self.parallels = 0
        self.consumed = _consumed_results(plan)
        self.loops = {inner.name: loop.name for loop in plan.steps.walk() if isinstance(loop, PlanLoop)
                      for inner in loop.body.walk()}
        """Step name → the innermost loop it is in (inner loops are walked later, so they win)."""
        self.integrations = Integrations(self)
        self.trees: dict[tuple[str, ...], Tree] = like.trees if like else {}
        """The series-parallel tree of each level (by its step names), shared with `like`."""
        self.handler = ""
        self.notes: list[Diagnostic] = []
        """Warnings about the pipeline's steps, found while building."""
        self._weights: dict[Tree | Part, int] = {}
        self._produced: dict[Tree | Part, frozenset[str]] = {}

    # --- names -------------------------------------------------------------------------

    def name(self, text: str, span: Any = None, synthetic: bool = True) -> str:
        """A unique state name; a name sparklec makes up is shortened to fit, a user's is an error."""
        if len(text) > MAX_NAME:
            if not synthetic:
                raise LoweringError([Diagnostic(
                    code="E405", message=f"`{text[:40]}...` is {len(text)} characters long; Step Functions state "
                                         f"names have at most {MAX_NAME}", span=span, help="give the step a shorter name")])
            text = text[: MAX_NAME - 9] + "~" + hashlib.sha256(text.encode()).hexdigest()[:8]
        if text in self.names:
            raise LoweringError([Diagnostic(
                code="E405", message=f"two states of pipeline `{self.plan.pipeline}` would be named `{text}`",
                span=span, help="rename the step: sparklec uses names such as `<task>: wait` for its own states")])
        self.names.add(text)
        return text

    # --- the machine --------------------------------------------------------------------

    def definition(self) -> Machine:
        self.names.update((START, READ_PARAMETERS, FAILED, PART_FAILED))
        handlers = self.failure_tasks()
        self.handler = handlers[0].name if handlers else FAILED
        top = Scope(states={}, failure=self.handler)
        entry = self.level(self.plan.steps, top, None)
        if self.handler in _targets(top.states):
            self.failure_handler(top, handlers)
        defaults = {p.name: _json_value(p.default) for p in self.plan.parameters if p.default is not None}
        items = {s.name: [_json_value(i) for i in s.items]
                 for s in sorted(self.plan.steps.walk(), key=lambda step: step.name)
                 if isinstance(s, PlanLoop) and s.items is not None}
        states: dict[str, State] = {
            START: {"Type": "Pass", "Comment": "Parameters: the defaults, overridden by the execution input",
                    "Parameters": {"defaults": defaults, "input.$": "$"}, "Next": READ_PARAMETERS},
            READ_PARAMETERS: {"Type": "Pass", "Parameters": {
                "params.$": "States.JsonMerge($.defaults, $.input, false)", "items": items},
                "Next": entry},
            **top.states,
        }
        comment = f"Pipeline {self.plan.pipeline}" + (f": {self.plan.description}" if self.plan.description else "")
        return {"Comment": comment, "StartAt": START, "States": states}

    def failure_tasks(self) -> tuple[PlanTask, ...]:
        """What runs when the pipeline fails: its on-failure tasks, then a notification per alert channel."""
        return (*(step for step in self.plan.on_failure.steps if isinstance(step, PlanTask)), *self.plan.alerts)

    def failure_handler(self, top: Scope, tasks: tuple[PlanTask, ...]) -> None:
        """The states a caught failure goes to: `tasks`, then `Failed` (only built when something fails there)."""
        top.states[FAILED] = {"Type": "Fail", "Error": "PipelineFailed", "CausePath": "$.error.Cause"}
        entry = FAILED
        handler_scope = Scope(states=top.states, failure=None)
        for task in reversed(tasks):
            entry = self.attach(self.integrations.task(task, handler_scope, failure=True), handler_scope, entry)

    def level(self, level: Level, scope: Scope, next_state: str | None) -> str:
        """Lower one level of steps; returns the name of its first state."""
        if not level.steps:
            return next_state or self.done(scope, "Nothing to do")
        graph = {step.name: step for step in level.steps}
        key = tuple(graph)
        if key not in self.trees:
            self.trees[key] = flatten(decompose(list(graph), level.edges)[0])
        return self.tree(self.trees[key], graph, scope, next_state)

    def tree(self, tree: Tree | Part, graph: Steps, scope: Scope, next_state: str | None) -> str:
        if isinstance(tree, Part):
            return self.part(tree.tree, graph, scope, next_state)
        if isinstance(tree, Leaf):
            return self.step(graph[tree.name], scope, next_state)
        if self.budget is not None and self.weight(tree, graph) > self.budget:
            return self.split(tree, graph, scope, next_state)
        if isinstance(tree, Series):
            return self.series(tree.parts, graph, scope, next_state)
        return self.parallel(tree.parts, graph, scope, next_state)

    def series(self, parts: Sequence[Tree | Part], graph: Steps, scope: Scope, next_state: str | None) -> str:
        for part in reversed(parts):
            next_state = self.tree(part, graph, scope, next_state)
        assert next_state is not None
        return next_state

    def split(self, tree: Series | Parallel, graph: Steps, scope: Scope, next_state: str | None) -> str:
        """`tree`, too big for one state machine, as parts of at most `budget` weight each, run in the same
        order: a series as a series of parts, a parallel block as a parallel block of parts.  A part that
        is one item heavier than the budget is split again inside its own state machine, so deep nesting
        is spread over parts too."""
        assert self.budget is not None
        groups: list[list[Tree]] = [[]]
        used = 0
        for item in tree.parts:
            weight = self.weight(item, graph)
            if groups[-1] and used + weight > self.budget:
                groups.append([])
                used = 0
            groups[-1].append(item)
            used += weight
        parts: list[Tree | Part] = [Part(group[0] if len(group) == 1 else type(tree)(tuple(group)))
                                    for group in groups]  # a part still too big is split again inside
        if isinstance(tree, Series):
            return self.series(parts, graph, scope, next_state)
        return self.parallel(parts, graph, scope, next_state)

    def weight(self, tree: Tree | Part, graph: Steps) -> int:
        """The weight of the tasks in `tree`, counting those inside loops and branches."""
        if tree not in self._weights:
            if isinstance(tree, Part):
                weight = self.weight(tree.tree, graph)
            elif isinstance(tree, Leaf):
                weight = sum(self.sizes.get(step.name, 1) for step in Level((graph[tree.name],)).walk())
            else:
                weight = sum(self.weight(part, graph) for part in tree.parts)
            self._weights[tree] = weight
        return self._weights[tree]

    def produced(self, tree: Tree | Part, graph: Steps) -> frozenset[str]:
        """Names of the tasks in `tree` whose results outlive it (not those inside loops)."""
        if tree not in self._produced:
            if isinstance(tree, Part):
                names = self.produced(tree.tree, graph)
            elif isinstance(tree, Leaf):
                found: set[str] = set()
                pending = [graph[tree.name]]
                while pending:
                    step = pending.pop()
                    found.add(step.name)
                    if isinstance(step, PlanBranch):
                        pending.extend((*step.then.steps, *step.otherwise.steps))
                names = frozenset(found)
            else:
                names = frozenset().union(*(self.produced(part, graph) for part in tree.parts))
            self._produced[tree] = names
        return self._produced[tree]

    def part(self, tree: Tree, graph: Steps, scope: Scope, next_state: str | None) -> str:
        """A Task that runs `tree` as a state machine of its own, passing it the whole state and taking its
        output as the new state."""
        inner = Scope(states={}, failure=PART_FAILED, vars=scope.vars, loop=scope.loop)
        entry = self.tree(tree, graph, inner, None)
        self.ending(inner, {"Type": "Fail", "Error": "StepFailed", "CausePath": "$.error.Cause"})
        key = f"Part{len(self.parts) + 1}"
        self.parts[key] = {"Comment": f"Pipeline {self.plan.pipeline}, part {len(self.parts) + 1}",
                           "StartAt": entry, "States": inner.states}
        name = self.name(f"Run part {len(self.parts)}")
        state: State = {"Type": "Task", "Resource": START_PART,
                 "Parameters": {"StateMachineArn": f"${{StateMachine{key}.Arn}}", "Input.$": "$"},
                 "OutputPath": "$.Output"}
        return self.add(name, state, scope, next_state)

    def parallel(self, parts: Sequence[Tree | Part], graph: Steps, scope: Scope, next_state: str | None) -> str:
        self.parallels += 1
        name = self.name(f"Parallel {self.parallels}")
        branches: list[Machine] = []
        for index, part in enumerate(parts):
            inner = Scope(states={}, failure=self.name(f"{name}: branch {index + 1} failed"), vars=scope.vars,
                          loop=scope.loop)
            entry = self.tree(part, graph, inner, None)
            self.ending(inner, {"Type": "Pass", "End": True})
            branches.append({"StartAt": entry, "States": inner.states})
        producing = [i for i, part in enumerate(parts) if self.consumed and self.consumed.keys() & self.produced(part, graph)]
        merged = None
        if producing:
            if len(producing) > MAX_NESTED_FUNCTIONS - 1:
                raise LoweringError([Diagnostic(
                    code="E406", message=f"{len(producing)} parallel branches of `{self.plan.pipeline}` produce "
                                         "results that conditions read; Step Functions can merge at most "
                                         f"{MAX_NESTED_FUNCTIONS - 1}", span=self.plan.span,
                    help="make the conditions read fewer task results, or order some of those tasks")])
            merged = f"States.ArrayGetItem($, {producing[0]})"
            for index in producing[1:]:
                merged = f"States.JsonMerge({merged}, States.ArrayGetItem($, {index}), false)"
        return self.block(name, {"Type": "Parallel", "Branches": branches}, merged, scope, next_state)

    def block(self, name: str, state: State, merged: str | None, scope: Scope, next_state: str | None) -> str:
        """A Parallel or Map state whose branches or items end with ``$.error`` when they fail, followed by a
        Choice that sends the first error to the scope's failure, else goes on with the state as it was (or as
        `merged`, an intrinsic over the branches' outputs, makes it)."""
        selector = {"errors.$": "$[*].error"} | ({"state.$": merged} if merged else {})
        state |= {"ResultSelector": selector, "ResultPath": BLOCK}
        go_on = next_state
        if merged:
            go_on = self.add(self.name(f"{name}: merge"), {"Type": "Pass", "InputPath": f"{BLOCK}.state"}, scope,
                             next_state)
        elif go_on is None:
            go_on = self.done(scope, f"{name}: done")
        check = self.name(f"{name}: any failed?")
        assert scope.failure is not None, "blocks are steps, and steps catch their failures"
        failed = self.add(self.name(f"{name}: failed"), {"Type": "Pass", "InputPath": f"{BLOCK}.errors[0]",
                                                         "ResultPath": "$.error"}, scope, scope.failure)
        self.add(check, {"Type": "Choice", "Choices": [
            {"Variable": f"{BLOCK}.errors[0]", "IsPresent": True, "Next": failed}], "Default": go_on}, scope, None)
        return self.add(name, state, scope, check)

    def ending(self, scope: Scope, state: State) -> None:
        """Add the scope's failure state, `state`, when something in the scope goes to it."""
        if scope.failure is not None and scope.failure in _targets(scope.states):
            scope.states[scope.failure] = state

    def step(self, step: PlanStep, scope: Scope, next_state: str | None) -> str:
        match step:
            case PlanLoop():
                return self.foreach(step, scope, next_state)
            case PlanBranch():
                return self.branch(step, scope, next_state)
            case PlanTask():
                fragment = self.integrations.task(step, scope)
                self.fragments[step.name] = fragment.states
                return self.attach(fragment, scope, next_state)
            case _:
                assert_never(step)

    def task_sizes(self) -> dict[str, int]:
        """Task name → about how many bytes its states take in the definition (after `definition`)."""
        return {name: json_size(states) for name, states in self.fragments.items()}

    def attach(self, fragment: Fragment, scope: Scope, next_state: str | None) -> str:
        """Add a task's states, linking its exits to `next_state`."""
        for name, state in fragment.states.items():
            if name in fragment.exits and state["Type"] == "Choice":
                rules = [rule for rule in state["Choices"] if rule["Next"] == NEXT]
                if rules or state["Default"] == NEXT:
                    target = next_state or self.done(scope, f"{fragment.entry}: done")
                    for rule in rules:
                        rule["Next"] = target
                    state["Default"] = target if state["Default"] == NEXT else state["Default"]
            elif name in fragment.exits:
                _link(state, next_state)
            if scope.failure is not None and state["Type"] in ("Task", "Parallel", "Map"):
                state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": scope.failure}]
            if scope.failure is not None and state["Type"] == "Fail":
                state = {"Type": "Pass", "Parameters": {"Error": state["Error"], "Cause": state["Cause"]},
                         "ResultPath": "$.error", "Next": scope.failure}
            scope.states[name] = state
        return fragment.entry

    def add(self, name: str, state: State, scope: Scope, next_state: str | None) -> str:
        return self.attach(Fragment(entry=name, states={name: state}, exits=(name,)), scope, next_state)

    def done(self, scope: Scope, text: str) -> str:
        """A state that ends `scope` (Choice defaults and empty pipelines need somewhere to go)."""
        return self.add(self.name(text), {"Type": "Pass"}, scope, None)

    def foreach(self, step: PlanLoop, scope: Scope, next_state: str | None) -> str:
        """A Map state; each iteration starts from the whole state plus the loop variables in ``vars``."""
        name = self.name(step.name, step.span, synthetic=False)
        inner = Scope(states={}, failure=self.name(f"{step.name}: item failed"), vars=(*scope.vars, step.var),
                      loop=step.name)
        body = self.level(step.body, inner, None)
        self.ending(inner, {"Type": "Pass", "End": True})
        entry = self.name(f"{step.name}: item")
        inner.states = {entry: {"Type": "Pass", "Parameters": {"state.$": "States.JsonMerge($.outer, $.loop, false)"},
                                "OutputPath": "$.state", "Next": body}, **inner.states}
        variables = {f"{v}.$": f"$.vars.{v}" for v in scope.vars} | {f"{step.var}.$": "$$.Map.Item.Value"}
        processor: dict[str, Any] = {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": entry, "States": inner.states}
        if self.distributed:
            processor["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
            self.stack.allow("RunDistributedMaps", ("states:StartExecution", "states:DescribeExecution",
                                                    "states:StopExecution"), self.own_arn("stateMachine"),
                             self.own_arn("execution") + ":*")
        state: State = {
            "Type": "Map",
            "ItemsPath": f"$.params{path_key(step.items_param)}" if step.items_param
            else f"$.items{path_key(step.name)}",
            "ItemSelector": {"outer.$": "$", "loop": {"vars": variables}},
            "ItemProcessor": processor,
        }
        if step.max_concurrency:
            state["MaxConcurrency"] = step.max_concurrency
        return self.block(name, state, None, scope, next_state)

    def own_arn(self, kind: str) -> str:
        """The ARN of this pipeline's state machine (`stateMachine`) or of its executions (`execution`)."""
        return f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:{kind}:${{StateMachineName}}"

    def branch(self, step: PlanBranch, scope: Scope, next_state: str | None) -> str:
        name = self.name(step.name, step.span, synthetic=False)
        join = next_state or self.done(scope, f"{step.name}: done")
        then = self.level(step.then, scope, join) if step.then.steps else join
        otherwise = self.level(step.otherwise, scope, join) if step.otherwise.steps else join
        rule = {**self.condition(step.condition, scope.loop), "Next": then}
        return self.add(name, {"Type": "Choice", "Choices": [rule], "Default": otherwise}, scope, None)

    # --- conditions -------------------------------------------------------------------------

    def condition(self, condition: t.Condition, loop: str | None) -> dict[str, Any]:
        if isinstance(condition, t.AllOf):
            return {"And": [self.condition(c, loop) for c in condition.conditions]}
        if isinstance(condition, t.AnyOf):
            return {"Or": [self.condition(c, loop) for c in condition.conditions]}
        if isinstance(condition, t.Not):
            return {"Not": self.condition(condition.condition, loop)}
        if isinstance(condition, t.IsSet):
            return {"Variable": self.operand(condition.operand, loop), "IsPresent": True}
        variable = self.operand(condition.left, loop)
        value = condition.right
        if isinstance(value, bool):
            if condition.op not in ("==", "!="):
                raise LoweringError([Diagnostic(code="E402", message=f"`{condition.op}` does not compare booleans",
                                                span=condition.span, help="use == or !=")])
            rule: dict[str, Any] = {"Variable": variable, "BooleanEquals": value}
        else:
            kind = "Numeric" if isinstance(value, (int, float)) else "String"
            operator = {"==": "Equals", "!=": "Equals", "<": "LessThan", "<=": "LessThanEquals",
                        ">": "GreaterThan", ">=": "GreaterThanEquals"}[condition.op]
            rule = {"Variable": variable, f"{kind}{operator}": value if value is not None else ""}
        if isinstance(condition.left, t.TaskResult):  # a task in an arm not taken has no result
            rule = {"And": [{"Variable": variable, "IsPresent": True}, rule]}
        return {"Not": rule} if condition.op == "!=" else rule

    def operand(self, operand: t.ParamRef | t.TaskResult, loop: str | None) -> str:
        if isinstance(operand, t.ParamRef):
            return f"$.params{path_key(operand.name)}"
        inside = self.loops.get(operand.task)
        if inside is not None and inside != loop:
            raise LoweringError([Diagnostic(
                code="E402", message=f"a condition outside loop `{inside}` reads the result of `{operand.task}`, "
                                     "which runs once per item inside it", span=operand.span,
                help="read the result inside the loop, or move the task out of it")])
        return f"${result_key(operand.task)}{path_key(operand.field)}"


def _targets(states: dict[str, State]) -> list[str]:
    """Every state name `states` go to (Next, Default, Choices and Catch)."""
    found = []
    for state in states.values():
        found += [state.get("Next", ""), state.get("Default", "")]
        found += [rule["Next"] for rule in state.get("Choices", []) + state.get("Catch", [])]
    return found


def _link(state: State, next_state: str | None) -> None:
    if state["Type"] in ("Choice", "Fail", "Succeed"):
        return
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _consumed_results(plan: ExecutionPlan) -> dict[str, set[str]]:
    """Task name → the result fields conditions read."""
    consumed: dict[str, set[str]] = {}
    for step in plan.steps.walk():
        if isinstance(step, PlanBranch):
            for result in t.condition_results(step.condition):
                consumed.setdefault(result.task, set()).add(result.field)
    return consumed
