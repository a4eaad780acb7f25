"""Typed column flow: the schema of every relation, checked op by op through chains."""

from __future__ import annotations

from collections.abc import Callable

from sparklec.diagnostics import Diagnostic, did_you_mean, ref_span
from sparklec.ir.pipeline import Pipeline
from sparklec.diagnostics import Span
from sparklec.ir.expressions import selected_names
from sparklec.ir.tasks import SQL_REFERENCE, Ingest, Score, Task, Transform, Write, walk
from sparklec.ir.transformers import CustomOp, Op, Schema
from sparklec.ir.values import Column

Report = Callable[[Diagnostic], None]


class ColumnFlow:
    """Computes relation schemas of one pipeline on demand; None means not known statically."""

    def __init__(self, pipeline: Pipeline, report: Report):
        self.pipeline = pipeline
        self.report = report
        self.tasks = {s.name: s for s in walk(pipeline.steps) if isinstance(s, Task)}
        self.custom = {c.name: c for c in pipeline.custom_transformers}
        self._schemas: dict[str, Schema | None] = {}
        self._pending: set[str] = set()

    def schema(self, relation: str) -> Schema | None:
        """The columns of a dataset or relation-producing task."""
        if relation in self._schemas:
            return self._schemas[relation]
        if relation in self._pending:
            return None  # a cycle, reported by the structural checks
        self._pending.add(relation)
        result = self._compute(relation)
        self._pending.discard(relation)
        self._schemas[relation] = result
        return result

    def _compute(self, relation: str) -> Schema | None:
        task = self.tasks.get(relation)
        if task is None:
            dataset = self.pipeline.dataset(relation)
            if dataset is not None and not dataset.columns:
                return self._replaced(relation)
            return dataset.columns if dataset else None
        if isinstance(task, Ingest):
            return task.columns or None
        if isinstance(task, Transform):
            return self.through_chain(self.input_schema(task), task.steps, task.span)
        if isinstance(task, Score):
            base = self.schema(task.input)
            return None if base is None else base + (Column(name=task.prediction_column),)
        return None

    def input_schema(self, task: Transform) -> Schema | None:
        """What a transform's chain starts from: its input's columns, or the columns its SQL names (their
        types not known)."""
        if task.sql is None:
            return self.schema(task.input) if task.input else None
        names = selected_names(SQL_REFERENCE.sub(lambda match: match.group(1), task.sql))
        return None if names is None else tuple(Column(name=name) for name in names)

    def _replaced(self, dataset: str) -> Schema | None:
        """The columns of a dataset whose columns are not declared and that one write of the pipeline fills
        from a relation whose columns are known: those, when the write replaces the table whole (`overwrite`)
        or refuses other columns (`schema_change` fail, the default)."""
        writers = [task for task in self.tasks.values() if isinstance(task, Write) and task.target == dataset]
        if len(writers) != 1:
            return None
        writer = writers[0]
        if writer.schema_change != "fail" and (writer.mode != "overwrite" or writer.partition_by):
            return None
        return self.schema(writer.input)

    def through_chain(self, schema: Schema | None, steps: tuple[Op, ...], span: Span | None) -> Schema | None:
        """Check each op against the columns before it; return the chain's output schema."""
        for op in steps:
            where = op.span or span
            if isinstance(op, CustomOp):
                schema = self._custom(schema, op, where)
                continue
            self._check_relations(op, where)
            if schema is None:
                continue
            by_name = {c.name: c for c in schema}
            missing = [c for c in dict.fromkeys(op.columns_read()) if c not in by_name]
            for name in missing:
                self.report(Diagnostic(
                    code="E204",
                    message=f"`{op.NAME}` names column `{name}`, which does not exist at this point",
                    span=ref_span(op, name) or where,
                    help=did_you_mean(name, by_name) or f"available columns: {', '.join(by_name)}",
                ))
            for _, message in op.type_problems(by_name):
                self.report(Diagnostic(code="E205", message=message, span=where))
            if not op.replaces_existing():
                for added in op.columns_added(schema):
                    if added.name in by_name:
                        self.report(Diagnostic(
                            code="E206",
                            message=f"`{op.NAME}` adds column `{added.name}`, which already exists",
                            span=where,
                            help="choose another target column name"
                            + (", or set `overwrite: true`" if op.NAME == "add_audit_columns" else ""),
                        ))
            schema = op.output_columns(schema)
        return schema

    def _check_relations(self, op: Op, where: Span | None) -> None:
        """Each column `op` names of another relation (a lookup's table) must be there, when its columns are known."""
        for relation, named in op.relations_read():
            other = {c.name for c in self.schema(relation) or ()}
            for name in dict.fromkeys(named) if other else ():
                if name not in other:
                    self.report(Diagnostic(
                        code="E204", message=f"`{op.NAME}` names column `{name}` of `{relation}`, which it does not have",
                        span=ref_span(op, name) or where,
                        help=did_you_mean(name, other) or f"`{relation}` has: {', '.join(sorted(other))}"))

    def _custom(self, schema: Schema | None, op: CustomOp, where: Span | None) -> Schema | None:
        declared = self.custom.get(op.transformer)
        if declared is None or declared.is_select or schema is None:
            return None
        target = op.target_column or op.transformer
        return tuple(c for c in schema if c.name != target) + (Column(name=target),)

    def names(self, relation: str) -> list[str] | None:
        """The names of the columns of `relation` when they are known, if not their types: after an op that
        names every column it outputs (an aggregate), over input columns nobody declared."""
        schema = self.schema(relation)
        if schema is not None:
            return [c.name for c in schema]
        task = self.tasks.get(relation)
        if not isinstance(task, Transform) or task.sql is not None:
            return None
        named = [index for index, op in enumerate(task.steps) if op.NAMES_EVERY_COLUMN]
        if not named:
            return None
        after: Schema | None = task.steps[named[-1]].output_columns(())
        for op in task.steps[named[-1] + 1:]:
            if after is None or isinstance(op, CustomOp):
                return None
            after = op.output_columns(after)
        return None if after is None else [c.name for c in after]

    def absent(self, relation: str, seen: frozenset[str] = frozenset()) -> set[str]:
        """Columns `relation` is known not to have although its columns are not known: those an op removed."""
        task = self.tasks.get(relation)
        if not isinstance(task, Transform) or task.sql is not None or task.input is None or relation in seen:
            return set()  # (a cycle is reported by the structural checks)
        gone = self.absent(task.input, seen | {relation})
        for op in task.steps:
            if isinstance(op, CustomOp):
                gone = set()
                continue
            gone = (gone | set(op.columns_removed())) - {c.name for c in op.columns_added(())}
        return gone

    def require(self, relation: str, names: tuple[str, ...], span: Span | None, what: str) -> None:
        """Report each of `names` that `relation` is known not to have."""
        known = self.names(relation)
        if known is None:
            for name in sorted(self.absent(relation) & set(names)):
                self.report(Diagnostic(code="E204", message=f"{what} names column `{name}`, which `{relation}` "
                                                            "does not have: a transformer before removes it",
                                       span=span, help="check the column before the transformer removes it"))
            return
        for name in dict.fromkeys(names):
            if name not in known:
                self.report(Diagnostic(
                    code="E204",
                    message=f"{what} names column `{name}`, which `{relation}` does not have",
                    span=span,
                    help=did_you_mean(name, known) or f"available columns: {', '.join(known)}",
                ))
