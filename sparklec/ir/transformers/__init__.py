"""The transformer catalogue: every op of `spec/transformers.md`, and how to build one.

`CATALOGUE` maps a transformer name to its op class.  `build_op` turns the
``params`` of a Sparkle config (or DSL call) into a typed op, accepting the
aliases real configs use and reporting every problem as a `ParamError`.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin

import attrs

from sparklec.diagnostics import RefSpans, Span, did_you_mean
from sparklec.ir.transformers.aggregation import (
    Aggregate, AddLagLeadColumns, AddMovingAverage, AddNtile, AddPercentileRank, AddRunningTotal, AggregateByKey,
    AddWindowFeatures, CubeAggregation, PivotTable, RollupAggregation, WindowOp,
)
from sparklec.ir.transformers.base import (
    AGGREGATE_FUNCTIONS, AUDIT_COLUMNS, DEFAULT_NULL_VALUES, FillValue, Measure, Op, ParamError,
    Replacement, Schema, is_literal,
)
from sparklec.ir.transformers.cleaning import (
    DIALLING_PREFIXES, CleanEmailAddresses, CleanPhoneNumbers, CoalesceColumns, DropDuplicatesByKey,
    DropExactDuplicates, DropNullRows, FillNulls, FilterByCondition, NormalizeCase, RemoveOutliersIqr,
    RemoveSpecialCharacters, ReplaceValues, SelectColumns, SplitDelimitedColumn, StandardizeNulls,
    TrimAndCleanStrings,
)
from sparklec.ir.transformers.enrichment import (
    AddAgeFromBirthdate, AddAuditColumns, AddBusinessKey, AddDateComponents, AddHashKey,
    AddIngestionMetadata, AddRank, AddRowNumber, AddSurrogateKey, AddTenureMonths, PerformLookup,
)
from sparklec.ir.transformers.nested import (
    DeduplicateArrayColumn, ExplodeArrayColumn, ExtractJsonField, FlattenStructColumn, ParseJsonColumn,
    RemoveEmptyArrays,
)
from sparklec.ir.transformers.validation import (
    AddValidationFlags, EnforceNotNull, MarkInvalidRows, RuleOp, SplitValidInvalid, ValidateLength,
    ValidatePattern, ValidateRange,
)
from sparklec.ir.transformers.pii import (
    AnonymizeWithLookup, CustomOp, MaskColumn, RedactEmail, RemovePiiColumns, TokenizeColumn,
)
from sparklec.ir.transformers.scd import ApplyScdType1, ApplyScdType2, ApplyScdType3, CloseScdRecords, ScdType2

CATALOGUE: dict[str, type[Op]] = {
    cls.NAME: cls
    for cls in (
        DropExactDuplicates, DropDuplicatesByKey, FilterByCondition, SelectColumns, DropNullRows, RemoveOutliersIqr,
        StandardizeNulls, TrimAndCleanStrings, NormalizeCase, RemoveSpecialCharacters, ReplaceValues,
        FillNulls, CoalesceColumns, CleanEmailAddresses, CleanPhoneNumbers, SplitDelimitedColumn,
        AddAuditColumns, AddIngestionMetadata, AddHashKey, AddBusinessKey, AddSurrogateKey,
        AddDateComponents, AddRowNumber, AddRank, AddAgeFromBirthdate, AddTenureMonths, PerformLookup,
        Aggregate, AggregateByKey, RollupAggregation, CubeAggregation, AddRunningTotal, AddMovingAverage,
        AddLagLeadColumns, AddNtile, AddPercentileRank, PivotTable, AddWindowFeatures,
        MaskColumn, TokenizeColumn, RedactEmail, RemovePiiColumns, AnonymizeWithLookup,
        ScdType2, ApplyScdType1, ApplyScdType2, ApplyScdType3, CloseScdRecords,
        ValidateRange, ValidateLength, ValidatePattern, AddValidationFlags, MarkInvalidRows, EnforceNotNull,
        SplitValidInvalid,
        ExtractJsonField, ParseJsonColumn, ExplodeArrayColumn, FlattenStructColumn, DeduplicateArrayColumn,
        RemoveEmptyArrays,
    )
}


def parameters(cls: type[Op]) -> tuple[attrs.Attribute[Any], ...]:
    """The parameter fields of an op class (every field but the source positions)."""
    return tuple(f for f in attrs.fields(cls) if f.eq)


def parameter_names(cls: type[Op]) -> dict[str, str]:
    """Every accepted spelling of a parameter (name or alias) → the field name."""
    names = {}
    for field in parameters(cls):
        names[field.name] = field.name
        names.update({alias: field.name for alias in field.metadata.get("aliases", ())})
    return names


class InvalidParams(ValueError):
    """The parameters given to a transformer have one or more problems."""

    def __init__(self, problems: list[ParamError]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def build_op(name: str, params: Mapping[str, object], span: Span | None = None, ref_spans: RefSpans = ()) -> Op:
    """Build the op `name` from config-style `params`.

    Raises `InvalidParams` with one `ParamError` per problem found.
    """
    cls = CATALOGUE[name]
    spellings = parameter_names(cls)
    problems: list[ParamError] = []
    values: dict[str, Any] = {}
    misspelt: set[str] = set()
    for key, value in params.items():
        field_name = spellings.get(key)
        if field_name is None:
            suggestion = did_you_mean(key, spellings)
            if suggestion:
                misspelt.add(spellings[suggestion.split("`")[1]])
            problems.append(ParamError(key, f"`{name}` has no parameter `{key}`", suggestion or _known(cls)))
        elif field_name in values:
            problems.append(ParamError(key, f"parameter `{field_name}` is given twice (as `{key}`)"))
        else:
            try:
                values[field_name] = _convert(attrs.fields_dict(cls)[field_name], value)
            except ValueError as error:
                choices = attrs.fields_dict(cls)[field_name].metadata.get("choices")
                suggestion = (did_you_mean(str(value), choices) or f"use one of {', '.join(choices)}") if choices else None
                problems.append(ParamError(key, f"`{name}` parameter `{key}`: {error}", suggestion))
    for field in parameters(cls):
        if field.default is attrs.NOTHING and field.name not in values and field.name not in misspelt and \
                field.name not in {p.param for p in problems}:
            problems.append(
                ParamError(None, f"`{name}` needs the parameter `{field.name}`", _known(cls))
            )
    if problems:
        raise InvalidParams(problems)
    return cls(**values, span=span, ref_spans=ref_spans)


def _known(cls: type[Op]) -> str:
    fields = parameters(cls)
    if not fields:
        return f"`{cls.NAME}` takes no parameters"
    return "parameters: " + ", ".join(
        f.name + ("" if f.default is attrs.NOTHING else f" (default {f.default!r})") for f in fields
    )


def _convert(field: attrs.Attribute[Any], value: object) -> Any:
    choices = field.metadata.get("choices")
    if choices is not None and value not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
    convert = field.metadata.get("convert")
    annotation = _resolved_type(field)
    if value is None and _allows_none(annotation):
        return None
    if convert is not None:
        return convert(value)
    expected = next(a for a in _union_members(annotation) if a is not type(None))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ValueError(f"expected {_type_word(expected)}, got {value!r}")
    return value


def _resolved_type(field: attrs.Attribute[Any]) -> Any:
    if isinstance(field.type, str):
        raise TypeError("op classes must be resolved with attrs.resolve_types")
    return field.type


def _union_members(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)


def _allows_none(annotation: Any) -> bool:
    return type(None) in _union_members(annotation)


def _type_word(expected: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        expected, expected.__name__
    )


for _op_class in (*CATALOGUE.values(), WindowOp, RuleOp, CustomOp):
    attrs.resolve_types(_op_class)
del _op_class

__all__ = [
    "AddWindowFeatures", "AnonymizeWithLookup", "ApplyScdType1", "ApplyScdType2", "PerformLookup", "ApplyScdType3", "CloseScdRecords", "DeduplicateArrayColumn", "ExplodeArrayColumn",
    "ExtractJsonField", "FlattenStructColumn", "ParseJsonColumn", "PivotTable", "RemoveEmptyArrays",
    "SplitValidInvalid",
    "AGGREGATE_FUNCTIONS", "AUDIT_COLUMNS", "CATALOGUE", "DEFAULT_NULL_VALUES", "DIALLING_PREFIXES",
    "Aggregate", "AggregateByKey", "CubeAggregation", "RollupAggregation", "AddAgeFromBirthdate", "AddAuditColumns", "AddBusinessKey", "AddDateComponents",
    "AddHashKey", "AddIngestionMetadata", "AddLagLeadColumns", "AddMovingAverage", "AddNtile",
    "AddPercentileRank", "AddRank",
    "AddRowNumber", "AddRunningTotal", "AddValidationFlags", "AddSurrogateKey", "AddTenureMonths", "CleanEmailAddresses",
    "CleanPhoneNumbers", "CoalesceColumns", "CustomOp", "DropDuplicatesByKey", "DropExactDuplicates",
    "DropNullRows", "EnforceNotNull", "FillNulls", "FillValue", "FilterByCondition", "InvalidParams", "MarkInvalidRows", "MaskColumn", "Measure",
    "NormalizeCase", "Op", "ParamError", "RedactEmail", "RemoveOutliersIqr", "RemovePiiColumns",
    "RemoveSpecialCharacters", "Replacement", "ReplaceValues", "Schema", "ScdType2",
    "SelectColumns", "SplitDelimitedColumn", "StandardizeNulls", "TokenizeColumn", "TrimAndCleanStrings", "RuleOp", "ValidateLength", "ValidatePattern",
    "ValidateRange", "WindowOp", "build_op",
    "is_literal", "parameter_names", "parameters",
]
