"""Building tasks, loops, branches, conditions and policies from the `.spk` syntax tree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lark

from sparklec.diagnostics import did_you_mean
from sparklec.frontends.dsl.values import Leaves, Node
from sparklec.ir import tasks as t
from sparklec.ir.policy import Artifact, Policy, Resources, Retry
from sparklec.ir.transformers import CATALOGUE, CustomOp, InvalidParams, Op, build_op, parameter_names
from sparklec.ir.values import Column, Setting

Tree = Node

# The body settings each task kind accepts, besides after, description, policies and artifacts.
OPTIONS: dict[str, tuple[str, ...]] = {
    "ingest_expr": ("system", "connection", "options", "columns", "watermark", "streaming", "checkpoint"),
    "write_expr": ("mode", "unique_key", "partition_by", "watermark", "on_schema_change"),
    "check_expr": ("severity", "checks"),
    "train_expr": ("features", "target", "algorithm", "params", "training"),
    "select_expr": ("metric", "lower_is_better", "minimum", "improvement", "validate", "warn_on_invalid",
                    "registration"),
    "score_expr": ("stage", "features", "prediction"),
    "notify_expr": ("message", "subject"),
    "container_expr": ("command", "args", "env"),
    "script_expr": ("language", "image"),
    "resource_expr": ("success", "failure"),
}
CHECKS = ("not_null", "unique", "accepted_values", "relationships", "matches", "email_format", "row_count",
          "freshness")


class StepBuilder(Leaves):
    """Builds steps; `custom` names the pipeline's custom transformers."""

    custom: set[str]

    # --- policies and artifacts ----------------------------------------------------

    def policy(self, items: list[Tree]) -> Policy:
        """A policy from `retry`, `timeout`, `runtime`, `resources` and `limits` statements."""
        fields: dict[str, Any] = {}
        requests: dict[str, Any] = {}
        limits: dict[str, Any] = {}
        for item in items:
            if item.data == "retry":
                fields["retry"] = self.retry(item)
            elif item.data == "timeout":
                fields["timeout"] = self.plain(item.children[0])
            elif item.data == "runtime":
                fields["runtime"] = self.name(item.children[0])
            else:
                target = requests if item.data == "resources" else limits
                target.update(self.quantities(item))
        if requests or limits:
            fields["resources"] = Resources(
                cpu_request=requests.get("cpu"), memory_request=requests.get("memory"),
                cpu_limit=limits.get("cpu"), memory_limit=limits.get("memory"), span=self.span(items[0]),
            )
        return Policy(**fields, span=self.span(items[0])) if fields else Policy()

    def retry(self, node: Tree) -> Retry:
        limit, every, backoff, max_delay, on = node.children
        fields: dict[str, Any] = {"limit": self.plain(limit)}
        if every is not None:
            fields["interval"] = self.plain(every)
        if backoff is not None:
            fields["backoff"] = float(self.plain(backoff))
        if max_delay is not None:
            fields["max_delay"] = self.plain(max_delay)
        if on is not None:
            fields["on"] = tuple(str(x) for x in self.plain(on))
        if not isinstance(fields["limit"], int):
            self.error("E113", "the retry limit must be a whole number", limit)
            fields["limit"] = 0
        return Retry(**fields, span=self.span(node))

    def quantities(self, node: Tree) -> dict[str, str]:
        values = self.plain(node.children[0])
        for key in values:
            if key not in ("cpu", "memory"):
                self.error("E113", f"`{node.data}` has no `{key}`", node, did_you_mean(key, ("cpu", "memory"))
                           or "give `cpu` and `memory`")
        return {k: str(v) for k, v in values.items() if k in ("cpu", "memory")}

    def artifact(self, node: Tree) -> Artifact:
        name, path, *rest = node.children  # an artifact in the default repository has no place
        place = rest[0] if rest else None
        fields: dict[str, Any] = {"name": self.name(name), "path": self.string(path)}
        if place is not None and place.data == "from_artifact":
            fields["source"] = f"{self.name(place.children[0])}.{self.name(place.children[1])}"
        elif place is not None:
            fields["store"] = str(place.children[0].children[0])
            if place.children[1] is not None:
                fields["location"] = self.string(place.children[1])
        return Artifact(**fields, span=self.span(node))

    # --- steps -------------------------------------------------------------------

    def steps(self, nodes: list[Tree | None]) -> tuple[t.Step, ...]:
        built = []
        for node in nodes:
            if node is None:
                continue
            step = {"task": self.task, "foreach": self.foreach, "branch": self.branch}[node.data](node)
            if step is not None:
                built.append(step)
        return tuple(built)

    def foreach(self, node: Tree) -> t.ForEach:
        var, items, name, limit, after, body = node.children
        literal = isinstance(items, lark.Tree) and items.data == "list"
        return t.ForEach(
            name=self.name(name), var=self.name(var),
            items=self.value(items) if literal else None,  # type: ignore[arg-type]
            items_param=None if literal else self.name(items),
            max_concurrency=self.plain(limit) if limit is not None else None,
            after=self.names(after.children[0]) if after is not None else (),
            body=self.steps(body.children), span=self.span(name),
            ref_spans=self.refs(None if literal else items, after.children[0] if after is not None else None),
        )

    def branch(self, node: Tree) -> t.Branch:
        condition, name, after, then, otherwise = node.children
        return t.Branch(
            name=self.name(name), condition=self.condition(condition),
            after=self.names(after.children[0]) if after is not None else (),
            then=self.steps(then.children), otherwise=self.steps(otherwise.children) if otherwise else (),
            span=self.span(name), ref_spans=self.refs(after.children[0] if after is not None else None),
        )

    def condition(self, node: Tree) -> t.Condition:
        kind = node.data
        if kind in ("condition", "and_condition"):
            parts = [self.condition(child) for child in node.children]
            if len(parts) == 1:
                return parts[0]
            group = t.AnyOf if kind == "condition" else t.AllOf
            return group(conditions=tuple(parts), span=self.span(node))
        if kind == "negation":
            return t.Not(condition=self.condition(node.children[0]), span=self.span(node))
        if kind == "is_set":
            return t.IsSet(operand=self.operand(node.children[0]), span=self.span(node))
        operand, compare, literal = node.children
        return t.Compare(left=self.operand(operand), op=str(compare.children[0]), right=self.plain(literal),
                         span=self.span(node))

    def operand(self, node: Tree) -> t.ParamRef | t.TaskResult:
        first, second = node.children
        if second is None:
            return t.ParamRef(name=self.name(first), span=self.span(node))
        return t.TaskResult(task=self.name(first), field=self.name(second), span=self.span(node))

    # --- tasks -------------------------------------------------------------------

    def task(self, node: Tree) -> t.AnyTask | None:
        name_node, expr, after, *items = node.children
        name = self.name(name_node)
        kind = expr.data
        common: dict[str, Any] = {"name": name, "span": self.span(name_node)}
        after_names = list(self.names(after.children[0])) if after is not None else []
        refs = list(self.refs(after.children[0] if after is not None else None))
        refs += self.refs(*(expr.children[i] for i in _REFERENCES.get(kind, ())))
        policies, settings, calls = [], {}, []
        inputs, outputs, examples = [], [], []
        for item in (i for i in items if i is not None):
            if item.data == "after":
                after_names.extend(self.names(item.children[0]))
                refs += self.refs(item.children[0])
            elif item.data == "description":
                common["description"] = self.string(item.children[0])
            elif item.data in ("retry", "timeout", "runtime", "resources", "limits"):
                policies.append(item)
            elif item.data == "input":
                inputs.append(self.artifact(item))
            elif item.data == "output":
                outputs.append(self.artifact(item))
            elif item.data == "example":
                examples.append(item)
            elif item.data in ("call", "sql_check"):
                calls.append(item)
                if item.data == "call" and self.name(item.children[0]) == "relationships":
                    refs += [(str(v).split(".")[0], self.span(item)) for v in [self.plain(a.children[1])
                             for a in item.children[1:] if a is not None] if isinstance(v, str) and "." in v]
            else:
                key = str(item.children[0].children[0]) if item.data == "option" else (
                    "columns" if item.data == "columns" else str(item.children[0]))
                if key in settings:
                    self.error("E136", f"`{key}` is given twice", item, "keep one of them")
                settings[key] = item
                if item.data == "option":  # where a value is named, for messages about it
                    refs += [(self.name(v), self.span(v)) for v in item.children[1:]
                             if isinstance(v, lark.Tree) and v.data == "name"]
        allowed = OPTIONS.get(kind, ())
        for key, item in settings.items():
            if key not in allowed:
                self.error("E137", f"`{key}` does not apply to {_KIND_WORDS[kind]}", item,
                           f"it takes: {', '.join(allowed)}" if allowed else "it takes no settings")
        if calls and "checks" not in allowed:
            self.error("E137", f"checks do not apply to {_KIND_WORDS[kind]}", calls[0],
                       "checks go in a `check RELATION { ... }` task")
        if examples and kind in ("chain_expr", "sql_expr"):
            common["examples"] = tuple(self.example(e) for e in examples)
        elif examples:
            self.error("E137", f"examples do not apply to {_KIND_WORDS[kind]}", examples[0],
                       "examples belong to transforms (`from ...` and `sql ...` tasks)")
        common.update(after=tuple(dict.fromkeys(after_names)), policy=self.policy(policies),
                      inputs=tuple(inputs), outputs=tuple(outputs), ref_spans=tuple(refs))
        return _BUILDERS[kind](self, expr, _Settings(self, settings), calls, common)

    def example(self, node: Tree) -> t.Example:
        name, *givens, expect = node.children
        return t.Example(
            name=self.string(name),
            given=tuple(t.Given(relation=self.name(g.children[0]), rows=self.rows(g.children[1]), span=self.span(g))
                        for g in givens if g is not None),
            expect=self.rows(expect.children[0]), span=self.span(name),
        )

    def rows(self, node: Tree) -> tuple[t.Row, ...]:
        """A `rows` list of maps from column to scalar."""
        rows = []
        for row in (r for r in node.children if r is not None):
            cells = []
            for key, value in self.plain(row).items():
                if isinstance(value, (list, dict)):
                    self.error("E113", f"the value of `{key}` in an example row must be a scalar", row,
                               "write a string, number, true, false or null")
                    continue
                cells.append(Setting(key=key, value=value))
            rows.append(tuple(cells))
        return tuple(rows)

    def ops(self, nodes: list[Tree]) -> tuple[Op, ...]:
        built = []
        for node in nodes:
            op = self.op(node)
            if op is not None:
                built.append(op)
        return tuple(built)

    def op(self, node: Tree) -> Op | None:
        name_node, *args = node.children
        name = self.name(name_node)
        params: dict[str, Any] = {}
        arg_nodes: dict[str, Node] = {}
        for arg in (a for a in args if a is not None):
            key = self.name(arg.children[0])
            if key in params:
                self.error("E136", f"argument `{key}` is given twice", arg, "keep one of them")
            params[key] = self.plain(arg.children[1])
            arg_nodes[key] = arg
        if name in self.custom:
            target = params.pop("target_column", None)
            if params or not (target is None or isinstance(target, str)):
                self.error("E112", f"custom transformer `{name}` takes only `target_column`", node)
            return CustomOp(transformer=name, target_column=target, span=self.span(node))
        if name not in CATALOGUE:
            self.error("E111", f"unknown transformer `{name}`", name_node,
                       did_you_mean(name, (*CATALOGUE, *self.custom)) or "declare it: transformer NAME = \"SQL\"")
            return None
        try:
            return build_op(name, params, self.span(node),
                            tuple((self.name(n), self.span(n)) for a in arg_nodes.values()
                                  for n in a.children[1].iter_subtrees_topdown() if n.data == "name")
                            if arg_nodes else ())
        except InvalidParams as error:
            spellings = parameter_names(CATALOGUE[name])
            for problem in error.problems:
                arg = arg_nodes.get(problem.param or "")
                where = node if arg is None else arg.children[1] if problem.param in spellings else arg
                self.error("E112", problem.message, where, problem.help)
            return None

    def check(self, node: Tree) -> t.AnyCheck | None:
        span = self.span(node)
        if node.data == "sql_check":
            return t.CustomSqlCheck(name=self.name(node.children[0]), sql=self.string(node.children[1]), span=span)
        name = self.name(node.children[0])
        positional: list[Any] = []
        named: dict[str, Any] = {}
        for arg in (a for a in node.children[1:] if a is not None):
            key, value = arg.children
            if key is None:
                positional.append(self.plain(value))
            else:
                named[self.name(key)] = self.plain(value)
        if name not in CHECKS:
            self.error("E138", f"unknown check `{name}`", node.children[0],
                       did_you_mean(name, CHECKS) or f"checks: {', '.join(CHECKS)}, sql NAME \"SELECT ...\"")
            return None
        try:
            return _CHECKS[name](positional, named, span)
        except (TypeError, ValueError, KeyError) as error:
            self.error("E138", f"`{name}`: {error}", node, _CHECK_USAGE[name])
            return None


class _Settings:
    """Kind-specific settings of one task, read on demand with the right shape."""

    def __init__(self, builder: StepBuilder, items: dict[str, Tree]):
        self.builder = builder
        self.items = items

    def values(self, key: str) -> list[Any]:
        item = self.items.get(key)
        if item is None or item.data != "option":
            return []
        return [self.builder.plain(v) for v in item.children[1:] if v is not None]

    def one(self, key: str, default: Any = None, kind: type = str) -> Any:
        values = self.values(key)
        if not values:
            return default
        if len(values) > 1 or not isinstance(values[0], kind) or isinstance(values[0], bool) and kind is not bool:
            self.builder.error("E113", f"`{key}` takes one {kind.__name__ if kind is not str else 'name or string'}",
                               self.items[key])
            return default
        return values[0]

    def names(self, key: str, what: str = "names") -> tuple[str, ...]:
        """The names (or strings) given to `key`, in order."""
        flat = [v for value in self.values(key) for v in (value if isinstance(value, list) else [value])]
        if not all(isinstance(v, str) for v in flat):
            self.builder.error("E113", f"`{key}` takes {what}", self.items[key])
            return ()
        return tuple(flat)

    def number(self, key: str) -> float | None:
        values = self.values(key)
        if not values:
            return None
        if len(values) > 1 or isinstance(values[0], bool) or not isinstance(values[0], (int, float)):
            self.builder.error("E113", f"`{key}` takes one number", self.items[key])
            return None
        return float(values[0])

    def flag(self, key: str) -> bool:
        return key in self.items

    def settings(self, key: str) -> tuple[Setting, ...]:
        value = self.one(key, {}, dict)
        return tuple(Setting(key=k, value=self.builder.value_of(v)) for k, v in value.items())

    def columns(self) -> tuple[Column, ...]:
        item = self.items.get("columns")
        return self.builder.columns(item) if item is not None else ()


def _ingest(b: StepBuilder, expr: Tree, s: _Settings, calls: list[Tree], common: dict[str, Any]) -> t.AnyTask:
    return t.Ingest(ingestor=b.name(expr.children[0]), source=b.string(expr.children[1]),
                    source_system=s.one("system", ""), connection=s.one("connection"), options=s.settings("options"),
                    columns=s.columns(), watermark=s.one("watermark"), streaming=s.flag("streaming"),
                    checkpoint=s.one("checkpoint"), **common)


def _chain(b: StepBuilder, expr: Tree, s: _Settings, calls: list[Tree], common: dict[str, Any]) -> t.AnyTask:
    head, *ops = expr.children
    if expr.data == "sql_expr":
        return t.Transform(sql=b.string(head), steps=b.ops(ops), **common)
    return t.Transform(input=b.name(head), steps=b.ops(ops), **common)


def _write(b: StepBuilder, expr: Tree, s: _Settings, calls: list[Tree], common: dict[str, Any]) -> t.AnyTask:
    return t.Write(input=b.name(expr.children[0]), target=b.name(expr.children[1]), mode=s.one("mode", "append"),
                   unique_key=s.names("unique_key"), partition_by=s.names("partition_by"),
                   watermark=s.one("watermark"), schema_change=s.one("on_schema_change", "fail"), **common)


def _check(b: StepBuilder, expr: Tree, s: _Settings, calls: list[Tree], common: dict[str, Any]) -> t.AnyTask:
    checks = tuple(c for c in (b.check(call) for call in calls) if c is not None)
    if not calls:
        b.error("E138", "a check task needs at least one check", expr, "e.g. `{ not_null(id) unique(id) }`")
    return t.QualityCheck(input=b.name(expr.children[0]), checks=checks, severity=s.one("severity", "error"),
                          **common)


def _train(b: StepBuilder, expr: Tree, s: _Settings, calls: list[Tree], common: dict[str, Any]) -> t.AnyTask:
    return t.Train(model_name=b.name(expr.children[0]), input=b.name(expr.children[1]),
                   feature_columns=s.names("features"), target_column=s.one("target", ""),
                   algorithm=s.one("algorithm", "default"), params=s.settings("params"),
                   training=s.settings("training"), **common)


def _select(b: StepBuilder, expr: Tree, s: _Settings, calls: list[Tree], common: dict[str, Any]) -> t.AnyTask:
    return t.SelectModel(model_name=b.name(expr.children[0]), candidates=b.names(expr.children[1]),
                         metric=s.one("metric", "auc"), higher_is_better=not s.flag("lower_is_better"),
                         minimum=s.number("minimum"), improvement=s.number("improvement"),
                         validation=s.names("validate", "strings"), fail_on_invalid=not s.flag("warn_on_invalid"),
                         registration=s.settings("registration"), **common)


def _score(b: StepBuilder, expr: Tree, s: _Settings, calls: list[Tree], common: dict[str, Any]) -> t.AnyTask:
    return t.Score(input=b.name(expr.children[0]), model_name=b.name(expr.children[1]),
                   stage=s.one("stage", "champion"), feature_columns=s.names("features"),
                   prediction_column=s.one("prediction", "prediction"), **common)


def _execute(b: StepBuilder, expr: Tree, s: _Settings, calls: list[Tree], common: dict[str, Any]) -> t.AnyTask:
    return t.RunSql(statements=tuple(b.string(c) for c in expr.children), **common)


def _notify(b: StepBuilder, expr: Tree, s: _Settings, calls: list[Tree], common: dict[str, Any]) -> t.AnyTask:
    return t.Notify(channel=b.string(expr.children[0]), message=s.one("message", ""), subject=s.one("subject", ""),
                    **common)


def _container(b: StepBuilder, expr: Tree, s: _Settings, calls: list[Tree], common: dict[str, Any]) -> t.AnyTask:
    return t.Container(image=b.string(expr.children[0]), command=_strings(b, s, "command"),
                       args=_strings(b, s, "args"), env=s.settings("env"), **common)


def _strings(b: StepBuilder, s: _Settings, key: str) -> tuple[str, ...]:
    value = s.one(key, [], list)
    if not all(isinstance(v, str) for v in value):
        b.error("E113", f"`{key}` takes a list of strings", s.items[key])
        return ()
    return tuple(value)


def _script(b: StepBuilder, expr: Tree, s: _Settings, calls: list[Tree], common: dict[str, Any]) -> t.AnyTask:
    language = s.one("language", "python")
    if language != "python":
        b.error("E113", f"scripts run Python, not `{language}`", s.items["language"], "use a container for other languages")
    return t.Script(source=b.string(expr.children[0]), image=s.one("image", "python:3.12-slim"), **common)


def _resource(b: StepBuilder, expr: Tree, s: _Settings, calls: list[Tree], common: dict[str, Any]) -> t.AnyTask:
    return t.KubernetesResource(action=b.name(expr.children[0]), manifest=b.string(expr.children[1]),
                                success_condition=s.one("success"), failure_condition=s.one("failure"), **common)


def _approval(b: StepBuilder, expr: Tree, s: _Settings, calls: list[Tree], common: dict[str, Any]) -> t.AnyTask:
    prompt = expr.children[0]
    return t.Approval(prompt=b.string(prompt) if prompt is not None else "", **common)


def _wait(b: StepBuilder, expr: Tree, s: _Settings, calls: list[Tree], common: dict[str, Any]) -> t.AnyTask:
    return t.Wait(seconds=b.plain(expr.children[0]), **common)


_BUILDERS: dict[str, Callable[[StepBuilder, Tree, _Settings, list[Tree], dict[str, Any]], t.AnyTask]] = {
    "ingest_expr": _ingest, "chain_expr": _chain, "sql_expr": _chain, "write_expr": _write,
    "check_expr": _check, "train_expr": _train, "select_expr": _select, "score_expr": _score,
    "execute_expr": _execute, "notify_expr": _notify, "container_expr": _container, "script_expr": _script,
    "resource_expr": _resource, "approval_expr": _approval, "wait_expr": _wait,
}
# Which children of each task expression name other steps, relations or datasets.
_REFERENCES: dict[str, tuple[int, ...]] = {
    "chain_expr": (0,), "write_expr": (0, 1), "check_expr": (0,), "train_expr": (1,), "select_expr": (1,),
    "score_expr": (0,),
}
_KIND_WORDS = {
    "ingest_expr": "an ingest task", "chain_expr": "a transform", "sql_expr": "a SQL transform",
    "write_expr": "a write", "check_expr": "a check task", "train_expr": "a training task",
    "select_expr": "a model selection", "score_expr": "a scoring task", "execute_expr": "an execute task",
    "notify_expr": "a notification", "container_expr": "a container", "script_expr": "a script",
    "resource_expr": "a Kubernetes resource", "approval_expr": "an approval", "wait_expr": "a wait",
}


def _columns(positional: list[Any], named: dict[str, Any]) -> tuple[str, ...]:
    if named or not positional or not all(isinstance(p, str) for p in positional):
        raise ValueError("expected column names")
    return tuple(positional)


def _one_column(positional: list[Any]) -> str:
    if not positional or not isinstance(positional[0], str):
        raise ValueError("expected a column name first")
    return str(positional[0])


def _only(named: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = set(named) - set(allowed)
    if unknown:
        raise ValueError(f"unknown argument `{sorted(unknown)[0]}`")


def _accepted(p: list[Any], n: dict[str, Any], span: Any) -> t.AnyCheck:
    _only(n, ())
    if len(p) != 2 or not isinstance(p[1], list) or not p[1]:
        raise ValueError("expected a column and a non-empty list of values")
    return t.AcceptedValues(column=_one_column(p), values=tuple(p[1]), span=span)


def _relationships(p: list[Any], n: dict[str, Any], span: Any) -> t.AnyCheck:
    _only(n, ("to",))
    target = n.get("to", p[1] if len(p) > 1 else None)
    if not isinstance(target, str) or "." not in target or len(p) > (1 if "to" in n else 2):
        raise ValueError("expected a column and `to: relation.column`")
    relation, field = target.split(".", 1)
    return t.Relationships(column=_one_column(p), to=relation, field=field, span=span)


def _matches(p: list[Any], n: dict[str, Any], span: Any) -> t.AnyCheck:
    _only(n, ())
    if len(p) != 2 or not isinstance(p[1], str):
        raise ValueError("expected a column and a regular expression string")
    return t.MatchesRegex(column=_one_column(p), pattern=p[1], span=span)


def _row_count(p: list[Any], n: dict[str, Any], span: Any) -> t.AnyCheck:
    _only(n, ("min", "max"))
    if p or not n or not all(isinstance(v, int) and not isinstance(v, bool) for v in n.values()):
        raise ValueError("expected `min:` and/or `max:` whole numbers")
    return t.RowCount(minimum=n.get("min"), maximum=n.get("max"), span=span)


def _freshness(p: list[Any], n: dict[str, Any], span: Any) -> t.AnyCheck:
    _only(n, ())
    if len(p) != 2 or not isinstance(p[1], int) or isinstance(p[1], bool):
        raise ValueError("expected a column and a duration such as 1d")
    return t.Freshness(column=_one_column(p), max_age=p[1], span=span)


_CHECKS: dict[str, Callable[[list[Any], dict[str, Any], Any], t.AnyCheck]] = {
    "not_null": lambda p, n, s: t.NotNull(column_names=_columns(p, n), span=s),
    "unique": lambda p, n, s: t.Unique(column_names=_columns(p, n), span=s),
    "accepted_values": _accepted,
    "relationships": _relationships,
    "matches": _matches,
    "email_format": lambda p, n, s: t.EmailFormat(column=_columns(p, n)[0] if len(p) == 1 else _one_column([]),
                                                  span=s),
    "row_count": _row_count,
    "freshness": _freshness,
}
_CHECK_USAGE = {
    "not_null": "not_null(col, ...)", "unique": "unique(col, ...)",
    "accepted_values": 'accepted_values(col, ["a", "b"])', "relationships": "relationships(col, to: other.col)",
    "matches": 'matches(col, "^[0-9]+$")', "email_format": "email_format(col)",
    "row_count": "row_count(min: 1, max: 1000)", "freshness": "freshness(col, 1d)",
}
