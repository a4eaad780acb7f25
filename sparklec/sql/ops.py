"""Each transformer op as one sqlglot SELECT over the relation before it.

`Lowering.op(op, source)` returns the SELECT; `source` names the previous
relation (a CTE, a model, a table) and carries its columns when they are
known.  With known columns the projection is explicit; without them,
columns are replaced or dropped with ``* EXCEPT`` where the dialect has it.
Semantics follow `spec/transformers.md`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import attrs
from sqlglot import exp
from typing_extensions import assert_never

from sparklec.diagnostics import Diagnostic, LoweringError
from sparklec.ir import transformers as tf
from sparklec.ir.pipeline import CustomTransformer
from sparklec.ir.transformers import Schema
from sparklec.ir.values import Scalar
from sparklec.sql.dialects import Dialect
from sparklec.sql.user_sql import parse_expression, parse_query

NULL_MARKER = "\\N"
"""What a NULL becomes inside hash and business keys, so that (a, NULL, b) and (a, b, NULL) differ."""
EMAIL_PATTERN = r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$"
ROW_NUMBER = "__sparklec_row_number"
RELATION = "__sparklec_relation_{}__"
"""How SQL names another relation of the pipeline until a target resolves it (user SQL's ``{{ name }}``)."""


@attrs.frozen
class Relation:
    """What an op reads: a relation's name and, when known, its columns.

    When the columns are not known, `removed` and `added` say how the ops
    before changed the columns of the relation the chain started from, unless
    an op made them unrelated (`opaque`: a custom SELECT).
    """

    name: str
    columns: Schema | None = None
    removed: tuple[str, ...] = ()
    added: Schema = ()
    opaque: bool = False


class RuntimeStringColumns(exp.Expression):
    """A select list that rewrites every string column, found when the query runs.

    `this` is the rewrite of one column, written over the placeholder column
    `COLUMN_PLACEHOLDER`; `removed` and `added` adjust the column list of the
    chain's input.  Only generators that can look columns up at run time
    (dbt's) write it.
    """

    arg_types = {"this": True, "removed": False, "added": False}


class RuntimeStar(exp.Expression):
    """Every column but `removed`, and but those of `present` (names) that the chain's input has when the query
    runs: the columns an op sets, which replace the input's own; unless `adder` names an op that may not
    replace a column, for which such a column is an error as the query runs.  Only dbt's generator writes it."""

    arg_types = {"removed": False, "present": False, "adder": False}


COLUMN_PLACEHOLDER = "__sparklec_column__"

MACRO = "sparklec_macro"
"""Meta key of an expression that a project macro can write: ``(name, arguments)``."""


def as_macro(expression: exp.Expr, name: str, **arguments: object) -> exp.Expr:
    """Mark `expression` as what macro `name` expands to with `arguments` (only those not left to defaults).

    Backends with a macro library (dbt's) write the call; every other
    generator writes `expression` itself.
    """
    expression.meta[MACRO] = (name, arguments)
    return expression


def identifier(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=not name.isidentifier() or name.lower() != name)


def column(name: str) -> exp.Column:
    return exp.Column(this=identifier(name))


def literal(value: Scalar) -> exp.Expr:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    return exp.Literal.string(value)


def as_text(expression: exp.Expr) -> exp.Expr:
    return exp.Cast(this=expression, to=exp.DataType.build("string"))


OpLowering = Callable[["Lowering", Any, Relation], exp.Select]
_LOWERINGS: dict[type[tf.Op], OpLowering] = {}
F = TypeVar("F", bound=OpLowering)


def lowers(*classes: type[tf.Op]) -> Callable[[F], F]:
    def register(function: F) -> F:
        for cls in classes:
            _LOWERINGS[cls] = function
        return function
    return register


class Lowering:
    """Lowers ops for one dialect; `custom` holds the pipeline's custom transformers."""

    def __init__(self, dialect: Dialect, custom: Mapping[str, CustomTransformer] = {},
                 runtime_columns: bool = False):
        self.dialect = dialect
        self.custom = dict(custom)
        self.runtime_columns = runtime_columns

    def fail(self, op: tf.Op, message: str, help: str | None = None) -> LoweringError:
        return LoweringError([Diagnostic(code="E402", message=message, span=op.span, help=help)])

    def op(self, op: tf.Op, source: Relation) -> exp.Select:
        """The SELECT that applies `op` to `source`."""
        return _LOWERINGS[type(op)](self, op, source)

    # --- projections ---------------------------------------------------------------

    def project(self, op: tf.Op, source: Relation, replace: Mapping[str, exp.Expr] = {},
                add: Sequence[tuple[str, exp.Expr]] = (), drop: Sequence[str] = ()) -> exp.Select:
        """SELECT every column of `source` with some replaced, some dropped, some added at the end."""
        added_names = {name for name, _ in add}
        if source.columns is not None:
            items: list[exp.Expr] = []
            for c in source.columns:
                if c.name in drop:
                    continue
                if c.name in replace:
                    items.append(exp.alias_(replace[c.name], identifier(c.name)))
                elif c.name in added_names:
                    items.append(exp.alias_(dict(add)[c.name], identifier(c.name)))
                else:
                    items.append(column(c.name))
            existing = {c.name for c in source.columns}
            items += [exp.alias_(e, identifier(n)) for n, e in add if n not in existing]
            return exp.select(*items).from_(identifier(source.name), copy=False)
        before = {c.name for c in source.added}
        removed = [*replace, *drop, *(n for n, _ in add if n in before)]  # an op before added it: replaced
        unsure = [n for n, _ in add if n not in before and n not in source.removed]  # perhaps the input's
        star: exp.Expr
        if unsure and self.runtime_columns and not source.opaque:
            star = RuntimeStar(removed=[column(n) for n in removed], present=[exp.Literal.string(n) for n in unsure],
                               adder=None if op.replaces_existing() else exp.Literal.string(op.NAME))
        elif removed and not self.dialect.star_except:
            raise self.fail(op, f"`{op.NAME}` needs the input's columns for {self.dialect.name} SQL",
                            "declare the source's columns")
        else:
            star = exp.Star(except_=[column(n) for n in removed]) if removed else exp.Star()
        items = [star, *(exp.alias_(e, identifier(n)) for n, e in replace.items()),
                 *(exp.alias_(e, identifier(n)) for n, e in add)]
        return exp.select(*items).from_(identifier(source.name), copy=False)

    def without(self, op: tf.Op, source: Relation, helper: str) -> exp.Select:
        """SELECT the columns of `source` (not yet FROM anything), leaving out a helper column."""
        if source.columns is not None:
            return exp.select(*(column(c.name) for c in source.columns))
        if not self.dialect.star_except:
            raise self.fail(op, f"`{op.NAME}` needs the input's columns for {self.dialect.name} SQL",
                            "declare the source's columns")
        return exp.select(exp.Star(except_=[column(helper)]))

    def rewrite_strings(self, op: tf.Op, source: Relation, chosen: tuple[str, ...] | None,
                        rewrite: Callable[[exp.Column], exp.Expr]) -> exp.Select:
        """Apply `rewrite` to the chosen columns, or to every string column of `source`."""
        if chosen is None and source.columns is None and self.runtime_columns and not source.opaque:
            added = [c.name for c in source.added if c.type == "string"]
            node = RuntimeStringColumns(this=rewrite(column(COLUMN_PLACEHOLDER)),
                                        removed=[exp.Literal.string(n) for n in source.removed],
                                        added=[exp.Literal.string(n) for n in added])
            return exp.select(node).from_(identifier(source.name), copy=False)
        return self.project(op, source, replace={c: rewrite(column(c))
                                                 for c in self.chosen_columns(op, source, chosen, True)})

    def chosen_columns(self, op: tf.Op, source: Relation, chosen: tuple[str, ...] | None,
                       strings_only: bool) -> tuple[str, ...]:
        """`chosen`, or else every (string) column of `source`, which must then be known."""
        if chosen is not None:
            return chosen
        kind = "string columns" if strings_only else "columns"
        if source.columns is None:
            raise self.fail(op, f"`{op.NAME}` applies to all {kind}, which are not known here",
                            "declare the source's columns, or give `columns`")
        return tuple(c.name for c in source.columns if c.type == "string" or not strings_only)

    def where(self, source: Relation, condition: exp.Expr) -> exp.Select:
        return exp.select(exp.Star()).from_(identifier(source.name), copy=False).where(condition, copy=False)

    def hash(self, op: tf.Op, algorithm: str, value: exp.Expr) -> exp.Expr:
        if algorithm not in self.dialect.hashes:
            raise self.fail(op, f"{algorithm} is not available in {self.dialect.name}",
                            f"use one of {', '.join(self.dialect.hashes)}")
        if algorithm == "md5":
            return exp.MD5(this=value)
        return exp.SHA2(this=value, length=exp.Literal.number(algorithm[3:]))

    def window(self, function: exp.Expr, partition_by: Sequence[str], order_by: Sequence[str | exp.Expr],
               desc: bool = False, frame: exp.WindowSpec | None = None) -> exp.Window:
        """`function` over the `partition_by` groups in `order_by` order (columns or expressions)."""
        order = exp.Order(expressions=[exp.Ordered(this=column(c) if isinstance(c, str) else c, desc=desc,
                                                   nulls_first=False) for c in order_by])
        return exp.Window(this=function, partition_by=[column(c) for c in partition_by], order=order, spec=frame)


def _non_default(op: tf.Op, *names: str) -> dict[str, object]:
    """The parameters of `op` among `names` whose values are not the defaults."""
    fields = attrs.fields_dict(type(op))
    return {n: getattr(op, n) for n in names if getattr(op, n) != fields[n].default}


def _joined_key(separator: str, columns: Sequence[str]) -> exp.Expr:
    """The columns as text joined by `separator`; a NULL becomes a marker, so positions stay distinct."""
    parts = [exp.Coalesce(this=as_text(column(c)), expressions=[exp.Literal.string(NULL_MARKER)]) for c in columns]
    key = exp.ConcatWs(expressions=[exp.Literal.string(separator), *parts])
    return as_macro(key, "concat_key", columns=tuple(columns), **({"separator": separator} if separator != "||" else {}))


# --- row-level -----------------------------------------------------------------------


@lowers(tf.DropExactDuplicates)
def _distinct(lw: Lowering, op: tf.DropExactDuplicates, source: Relation) -> exp.Select:
    return exp.select(exp.Star()).from_(identifier(source.name), copy=False).distinct(copy=False)


@lowers(tf.DropDuplicatesByKey)
def _dedupe(lw: Lowering, op: tf.DropDuplicatesByKey, source: Relation) -> exp.Select:
    numbered = exp.select(exp.Star(), exp.alias_(
        lw.window(exp.RowNumber(), op.key_columns, op.order_by, desc=op.keep == "last"), identifier(ROW_NUMBER),
    )).from_(identifier(source.name), copy=False)
    return lw.without(op, source, ROW_NUMBER).from_(numbered.subquery("numbered"), copy=False).where(
        exp.EQ(this=column(ROW_NUMBER), expression=exp.Literal.number(1)), copy=False)


@lowers(tf.FilterByCondition)
def _filter(lw: Lowering, op: tf.FilterByCondition, source: Relation) -> exp.Select:
    return lw.where(source, parse_expression(op.condition, "the filter condition", op.span))


@lowers(tf.DropNullRows)
def _drop_nulls(lw: Lowering, op: tf.DropNullRows, source: Relation) -> exp.Select:
    columns = lw.chosen_columns(op, source, op.columns, strings_only=False)
    if op.how == "any":
        return lw.where(source, exp.and_(*(exp.Not(this=exp.Is(this=column(c), expression=exp.Null()))
                                          for c in columns)))
    return lw.where(source, exp.Not(this=exp.Paren(this=exp.and_(*(exp.Is(this=column(c), expression=exp.Null())
                                                                   for c in columns)))))


@lowers(tf.RemoveOutliersIqr)
def _outliers(lw: Lowering, op: tf.RemoveOutliersIqr, source: Relation) -> exp.Select:
    style = lw.dialect.exact_quantile
    if style is None:
        raise lw.fail(op, f"{lw.dialect.name} has no exact percentile, which `{op.NAME}` needs")

    def quartile(fraction: float) -> exp.Expr:
        if style == "percentile":
            return exp.Quantile(this=column(op.column), quantile=exp.Literal.number(fraction))
        return exp.PercentileCont(this=column(op.column), expression=exp.Literal.number(fraction))

    bounds = exp.select(exp.alias_(quartile(0.25), "q1"), exp.alias_(quartile(0.75), "q3")).from_(
        identifier(source.name), copy=False)
    spread = exp.Paren(this=exp.Sub(this=exp.column("q3", "bounds"), expression=exp.column("q1", "bounds")))
    margin = exp.Mul(this=exp.Literal.number(op.multiplier), expression=spread)
    low = exp.Sub(this=exp.column("q1", "bounds"), expression=margin)
    high = exp.Add(this=exp.column("q3", "bounds"), expression=margin.copy())
    kept = exp.Between(this=exp.Column(this=identifier(op.column), table=identifier(source.name)), low=low, high=high)
    return exp.select(exp.Column(this=exp.Star(), table=identifier(source.name))).from_(identifier(source.name), copy=False).join(
        bounds.subquery("bounds"), join_type="cross", copy=False).where(kept, copy=False)


# --- column cleaning -------------------------------------------------------------------


def _case_in(value: exp.Expr, candidates: Sequence[Scalar], then: exp.Expr,
             otherwise: exp.Expr) -> exp.Expr:
    return exp.Case(ifs=[exp.If(this=exp.In(this=value, expressions=[literal(v) for v in candidates]), true=then)],
                    default=otherwise)


@lowers(tf.StandardizeNulls)
def _standardize_nulls(lw: Lowering, op: tf.StandardizeNulls, source: Relation) -> exp.Select:
    def rewrite(value: exp.Column) -> exp.Expr:
        compared: exp.Expr = exp.Trim(this=value.copy()) if op.trim else value.copy()
        rewritten = _case_in(compared, op.null_values, exp.Null(), value)
        if not all(isinstance(v, str) for v in op.null_values):
            return rewritten
        return as_macro(rewritten, "standardize_nulls", value=value.copy(), **_non_default(op, "null_values", "trim"))

    return lw.rewrite_strings(op, source, op.columns, rewrite)


def _collapse_spaces(value: exp.Expr) -> exp.Expr:
    collapsed = exp.Trim(this=exp.RegexpReplace(this=value.copy(), expression=exp.Literal.string(r"\s+"),
                                                replacement=exp.Literal.string(" ")))
    return as_macro(collapsed, "collapse_spaces", value=value)


@lowers(tf.TrimAndCleanStrings)
def _trim(lw: Lowering, op: tf.TrimAndCleanStrings, source: Relation) -> exp.Select:
    return lw.rewrite_strings(op, source, op.columns, _collapse_spaces)


@lowers(tf.NormalizeCase)
def _case(lw: Lowering, op: tf.NormalizeCase, source: Relation) -> exp.Select:
    function = exp.Upper if op.case == "upper" else exp.Lower
    return lw.project(op, source, replace={c: function(this=column(c)) for c in op.columns})


@lowers(tf.RemoveSpecialCharacters)
def _special(lw: Lowering, op: tf.RemoveSpecialCharacters, source: Relation) -> exp.Select:
    return lw.project(op, source, replace={c: exp.RegexpReplace(
        this=column(c), expression=exp.Literal.string(r"[^a-zA-Z0-9\s]"), replacement=exp.Literal.string(op.replacement),
    ) for c in op.columns})


@lowers(tf.ReplaceValues)
def _replace(lw: Lowering, op: tf.ReplaceValues, source: Relation) -> exp.Select:
    by_column: dict[str, list[tf.Replacement]] = {}
    for replacement in op.replacements:
        by_column.setdefault(replacement.column, []).append(replacement)
    replace = {}
    for name, replacements in by_column.items():
        ifs = [exp.If(this=exp.Is(this=column(name), expression=exp.Null()) if r.old is None
                      else exp.EQ(this=column(name), expression=literal(r.old)), true=literal(r.new))
               for r in replacements]
        replace[name] = exp.Case(ifs=ifs, default=column(name))
    return lw.project(op, source, replace=replace)


@lowers(tf.FillNulls)
def _fill(lw: Lowering, op: tf.FillNulls, source: Relation) -> exp.Select:
    return lw.project(op, source, replace={f.column: exp.Coalesce(this=column(f.column), expressions=[literal(f.value)])
                                           for f in op.fill_values})


@lowers(tf.EnforceNotNull)
def _enforce(lw: Lowering, op: tf.EnforceNotNull, source: Relation) -> exp.Select:
    return lw.project(op, source, replace={c: exp.Coalesce(this=column(c), expressions=[literal(op.default_value)])
                                           for c in op.columns})


@lowers(tf.ValidateRange, tf.ValidateLength, tf.ValidatePattern)
def _rule(lw: Lowering, op: tf.ValidateRange | tf.ValidateLength | tf.ValidatePattern, source: Relation
          ) -> exp.Select:
    value: exp.Expr = column(op.column)
    bounds: tuple[float | int | None, float | int | None] = (None, None)
    match op:
        case tf.ValidateRange():
            bounds = (op.min_value, op.max_value)
        case tf.ValidateLength():
            value, bounds = exp.Length(this=value), (op.min_length, op.max_length)
        case tf.ValidatePattern():
            pass
        case _:
            assert_never(op)
    terms: list[exp.Expr] = [comparison(this=value.copy(), expression=literal(bound)) for comparison, bound in
                             zip((exp.GTE, exp.LTE), bounds, strict=True) if bound is not None]
    if isinstance(op, tf.ValidatePattern):
        terms.append(exp.RegexpLike(this=value, expression=exp.Literal.string(op.pattern)))
    passes = exp.and_(*terms) if terms else exp.true()
    if op.flag_column is None:
        return lw.where(source, passes)
    return lw.project(op, source, add=[(op.flag_column, _flag(passes))])


@lowers(tf.SplitValidInvalid)
def _split_valid(lw: Lowering, op: tf.SplitValidInvalid, source: Relation) -> exp.Select:
    return lw.where(source, exp.EQ(this=column(op.validation_column), expression=exp.Boolean(this=op.keep == "valid")))


@lowers(tf.AddValidationFlags)
def _validation_flags(lw: Lowering, op: tf.AddValidationFlags, source: Relation) -> exp.Select:
    rules = [exp.Paren(this=parse_expression(r.expression, f"validation rule `{r.name}`", op.span)) for r in op.rules]
    return lw.project(op, source, add=[(op.flag_column, _flag(exp.and_(*rules)))])


@lowers(tf.MarkInvalidRows)
def _mark_invalid(lw: Lowering, op: tf.MarkInvalidRows, source: Relation) -> exp.Select:
    invalid = parse_expression(op.condition, "the invalid-row condition", op.span)
    return lw.project(op, source, add=[(op.invalid_column, _flag(exp.Paren(this=invalid)))])


def _flag(condition: exp.Expr) -> exp.Expr:
    """`condition` as a boolean that is never NULL: a condition that is not known to hold does not hold."""
    return exp.Coalesce(this=condition, expressions=[exp.false()])


@lowers(tf.CoalesceColumns)
def _coalesce(lw: Lowering, op: tf.CoalesceColumns, source: Relation) -> exp.Select:
    first, *rest = op.source_columns
    value = exp.Coalesce(this=column(first), expressions=[column(c) for c in rest])
    drop = [c for c in op.source_columns if c != op.target_column] if op.drop_sources else []
    if op.target_column in (c.name for c in source.columns or ()) or op.target_column in op.source_columns:
        return lw.project(op, source, replace={op.target_column: value}, drop=drop)
    return lw.project(op, source, add=[(op.target_column, value)], drop=drop)


@lowers(tf.CleanEmailAddresses)
def _email(lw: Lowering, op: tf.CleanEmailAddresses, source: Relation) -> exp.Select:
    replace = {}
    for name in op.columns:
        cleaned = exp.Lower(this=exp.Trim(this=column(name)))
        valid = exp.RegexpLike(this=cleaned, expression=exp.Literal.string(EMAIL_PATTERN))
        replace[name] = exp.Case(ifs=[exp.If(this=valid, true=cleaned.copy())], default=exp.Null())
    return lw.project(op, source, replace=replace)


@lowers(tf.CleanPhoneNumbers)
def _phone(lw: Lowering, op: tf.CleanPhoneNumbers, source: Relation) -> exp.Select:
    replace: dict[str, exp.Expr] = {}
    for name in op.columns:
        digits = exp.RegexpReplace(this=column(name), expression=exp.Literal.string("[^0-9]"),
                                   replacement=exp.Literal.string(""))
        if op.country_code:
            replace[name] = exp.Case(ifs=[exp.If(this=exp.NEQ(this=digits, expression=exp.Literal.string("")),
                                                 true=exp.DPipe(this=exp.Literal.string(op.country_code),
                                                                expression=digits.copy(), safe=True))],
                                     default=digits.copy())
        else:
            replace[name] = digits
    return lw.project(op, source, replace=replace)


# --- enrichment -------------------------------------------------------------------------


@lowers(tf.AddAuditColumns)
def _audit(lw: Lowering, op: tf.AddAuditColumns, source: Relation) -> exp.Select:
    now, user = exp.CurrentTimestamp(), exp.Literal.string(op.user)
    return lw.project(op, source, add=[("created_at", now), ("updated_at", now.copy()),
                                       ("created_by", user), ("updated_by", user.copy())])


@lowers(tf.AddIngestionMetadata)
def _provenance(lw: Lowering, op: tf.AddIngestionMetadata, source: Relation) -> exp.Select:
    batch = literal(op.batch_id) if op.batch_id is not None else as_text(exp.Null())
    return lw.project(op, source, add=[
        ("_ingestion_timestamp", exp.CurrentTimestamp()), ("_ingestion_date", exp.CurrentDate()),
        ("_source_system", exp.Literal.string(op.source)), ("_batch_id", batch),
    ])


@lowers(tf.AddHashKey)
def _hash_key(lw: Lowering, op: tf.AddHashKey, source: Relation) -> exp.Select:
    value = lw.hash(op, op.algorithm, _joined_key(op.separator, op.source_columns))
    value = as_macro(value, "hash_key", columns=op.source_columns, **_non_default(op, "algorithm", "separator"))
    return lw.project(op, source, add=[(op.target_column, value)])


@lowers(tf.AddBusinessKey)
def _business_key(lw: Lowering, op: tf.AddBusinessKey, source: Relation) -> exp.Select:
    return lw.project(op, source, add=[(op.target_column, _joined_key(op.separator, op.key_columns))])


@lowers(tf.AddSurrogateKey)
def _surrogate_key(lw: Lowering, op: tf.AddSurrogateKey, source: Relation) -> exp.Select:
    value = as_macro(exp.MD5(this=_joined_key("||", op.key_columns)), "hash_key", columns=op.key_columns)
    return lw.project(op, source, add=[(op.column_name, value)])


@lowers(tf.AddDateComponents)
def _date_parts(lw: Lowering, op: tf.AddDateComponents, source: Relation) -> exp.Select:
    date = column(op.date_column)
    return lw.project(op, source, add=[(f"{op.prefix}year", exp.Year(this=date)),
                                       (f"{op.prefix}month", exp.Month(this=date.copy())),
                                       (f"{op.prefix}day", exp.Day(this=date.copy()))])


def _whole_years(start: exp.Expr, end: exp.Expr) -> exp.Expr:
    """Completed years from `start` to `end`: the year difference, less one before the anniversary."""
    return exp.Sub(this=exp.Sub(this=exp.Year(this=end), expression=exp.Year(this=start)),
                   expression=_before(start, end))


def _whole_months(start: exp.Expr, end: exp.Expr) -> exp.Expr:
    """Completed months from `start` to `end`."""
    months = exp.Add(
        this=exp.Mul(this=exp.Paren(this=exp.Sub(this=exp.Year(this=end), expression=exp.Year(this=start))),
                     expression=exp.Literal.number(12)),
        expression=exp.Sub(this=exp.Month(this=end.copy()), expression=exp.Month(this=start.copy())),
    )
    early = exp.Case(ifs=[exp.If(this=exp.LT(this=exp.Day(this=end.copy()), expression=exp.Day(this=start.copy())),
                                 true=exp.Literal.number(1))], default=exp.Literal.number(0))
    return exp.Sub(this=months, expression=early)


def _before(start: exp.Expr, end: exp.Expr) -> exp.Expr:
    """1 when `end`'s month and day come before `start`'s, else 0."""
    month_before = exp.LT(this=exp.Month(this=end.copy()), expression=exp.Month(this=start.copy()))
    day_before = exp.and_(exp.EQ(this=exp.Month(this=end.copy()), expression=exp.Month(this=start.copy())),
                          exp.LT(this=exp.Day(this=end.copy()), expression=exp.Day(this=start.copy())))
    return exp.Case(ifs=[exp.If(this=exp.or_(month_before, day_before), true=exp.Literal.number(1))],
                    default=exp.Literal.number(0))


def _date_or_today(value: str | None) -> exp.Expr:
    if value is None:
        return exp.CurrentDate()
    return exp.Cast(this=exp.Literal.string(value), to=exp.DataType.build("date"))


@lowers(tf.AddAgeFromBirthdate)
def _age(lw: Lowering, op: tf.AddAgeFromBirthdate, source: Relation) -> exp.Select:
    return lw.project(op, source, add=[(op.target_column, _whole_years(
        column(op.birthdate_column), _date_or_today(op.reference_date)))])


@lowers(tf.AddTenureMonths)
def _tenure(lw: Lowering, op: tf.AddTenureMonths, source: Relation) -> exp.Select:
    end = column(op.end_date_column) if op.end_date_column else exp.CurrentDate()
    return lw.project(op, source, add=[(op.target_column, _whole_months(column(op.start_date_column), end))])


# --- PII, SCD and custom ---------------------------------------------------------------------


@lowers(tf.MaskColumn)
def _mask(lw: Lowering, op: tf.MaskColumn, source: Relation) -> exp.Select:
    replace = {}
    visible = exp.Literal.number(op.visible_chars)
    for name in op.columns:
        length = exp.Length(this=column(name))
        masked = exp.DPipe(
            this=exp.Repeat(this=exp.Literal.string(op.mask_char), times=exp.Sub(this=length, expression=visible)),
            expression=exp.Right(this=column(name), expression=visible.copy()) if op.visible_chars else
            exp.Literal.string(""),
            safe=True,
        )
        replace[name] = exp.Case(ifs=[exp.If(this=exp.LTE(this=length.copy(), expression=visible.copy()),
                                             true=column(name))], default=masked)
    return lw.project(op, source, replace=replace)


@lowers(tf.TokenizeColumn)
def _tokenize(lw: Lowering, op: tf.TokenizeColumn, source: Relation) -> exp.Select:
    replace = {}
    for name in op.columns:
        value: exp.Expr = as_text(column(name))
        if op.salt:
            value = exp.DPipe(this=value, expression=exp.Literal.string(op.salt), safe=True)
        replace[name] = lw.hash(op, op.algorithm, value)
    return lw.project(op, source, replace=replace)


@lowers(tf.AnonymizeWithLookup)
def _anonymize(lw: Lowering, op: tf.AnonymizeWithLookup, source: Relation) -> exp.Select:
    ifs = [exp.If(this=exp.EQ(this=column(op.column), expression=literal(old)), true=literal(new))
           for old, new in op.lookup_dict]
    return lw.project(op, source, replace={op.column: exp.Case(ifs=ifs, default=column(op.column))})


@lowers(tf.RedactEmail)
def _redact(lw: Lowering, op: tf.RedactEmail, source: Relation) -> exp.Select:
    return lw.project(op, source, replace={name: exp.DPipe(
        this=exp.Literal.string("****@"),
        expression=exp.SplitPart(this=column(name), delimiter=exp.Literal.string("@"), part_index=exp.Literal.number(2)),
        safe=True,
    ) for name in op.columns})


@lowers(tf.SplitDelimitedColumn)
def _split(lw: Lowering, op: tf.SplitDelimitedColumn, source: Relation) -> exp.Select:
    def piece(index: int) -> exp.Expr:
        part = exp.SplitPart(this=column(op.column), delimiter=exp.Literal.string(op.delimiter),
                             part_index=exp.Literal.number(index))
        return exp.Nullif(this=part, expression=exp.Literal.string(""))
    return lw.project(op, source, add=[(name, piece(index)) for index, name in enumerate(op.target_columns, 1)])


@lowers(tf.SelectColumns)
def _select(lw: Lowering, op: tf.SelectColumns, source: Relation) -> exp.Select:
    return exp.select(*(column(c) for c in op.columns)).from_(identifier(source.name), copy=False)


@lowers(tf.RemovePiiColumns)
def _remove(lw: Lowering, op: tf.RemovePiiColumns, source: Relation) -> exp.Select:
    return lw.project(op, source, drop=op.columns)


@lowers(tf.ScdType2)
def _scd2(lw: Lowering, op: tf.ScdType2, source: Relation) -> exp.Select:
    """The incoming rows as new current versions; the write keeps the history (`sparklec.sql.history`)."""
    return lw.project(op, source, add=[
        (op.effective_from, exp.CurrentTimestamp()),
        (op.effective_to, exp.Cast(this=exp.Null(), to=exp.DataType.build("timestamp"))),
        (op.current_flag, exp.Boolean(this=True)),
    ])


@lowers(tf.CloseScdRecords)
def _close(lw: Lowering, op: tf.CloseScdRecords, source: Relation) -> exp.Select:
    end = exp.Cast(this=exp.Literal.string(op.end_date), to=exp.DataType.build("date"))
    return lw.project(op, source, add=[(op.end_date_column, end), (op.current_flag_column, exp.false())])


@lowers(tf.CustomOp)
def _custom(lw: Lowering, op: tf.CustomOp, source: Relation) -> exp.Select:
    declared = lw.custom.get(op.transformer)
    if declared is None:
        raise lw.fail(op, f"unknown custom transformer `{op.transformer}`")
    parsed = parse_custom(declared)
    if isinstance(parsed, exp.Query):
        for table in parsed.find_all(exp.Table):
            if table.name == "__sparklec_input__":
                table.set("this", identifier(source.name))
        return exp.select(exp.Star()).from_(parsed.subquery("custom"), copy=False)
    return lw.project(op, source, add=[(op.target_column or op.transformer, parsed)])


def parse_custom(declared: CustomTransformer) -> exp.Expr:
    """The SQL of a custom transformer: a query (reading ``{{ input }}``) or a column's expression."""
    what = f"custom transformer `{declared.name}`"
    if declared.is_select:
        return parse_query(re.sub(r"\{\{\s*input\s*\}\}", "__sparklec_input__", declared.sql), what, declared.span)
    return parse_expression(declared.sql, what, declared.span)


def missing_lowerings() -> list[str]:
    """The transformers of the catalogue that no lowering is registered for."""
    return sorted(cls.NAME for cls in set(tf.CATALOGUE.values()) - set(_LOWERINGS))
