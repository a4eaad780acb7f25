"""The transformer catalogue: building ops from config params, and their column flow."""

from __future__ import annotations

import datetime

import pytest

from sparklec.ir import Column
from sparklec.ir import transformers as tf
from sparklec.ir.transformers import CATALOGUE, InvalidParams, build_op

SCHEMA = (
    Column(name="id", type="bigint"), Column(name="email", type="string"), Column(name="phone", type="string"),
    Column(name="born", type="date"), Column(name="amount", type="double"),
    Column(name="tags", type="array<string>"), Column(name="payload", type="string"),
    Column(name="address", type="struct<city:string,zip:int>"), Column(name="is_valid", type="boolean"),
)

SAMPLE_ROWS = [
    (1, "ann@example.com", "+1 (555) 010-0001", datetime.date(1990, 5, 17), 10.5, ["a", "b", "a", None],
     '{"user": {"id": "u1"}, "score": 1.5, "active": true}', {"city": "Lyon", "zip": 69001}, True),
    (2, "ann@example.com", "555.010.0002", datetime.date(1985, 12, 1), 99.0, [],
     '{"user": {"id": 7}, "score": "high"}', {"city": None, "zip": None}, False),
    (3, " Bob@Example.COM ", None, datetime.date(2001, 2, 28), -3.0, None, "not json", None, None),
    (4, "n/a", "5550100004", None, 0.0, ["c"], '{"user": null, "active": false}', {"city": "Oslo", "zip": 150}, True),
    (5, None, "", datetime.date(1970, 1, 1), None, [None, None], None, {"city": "Rome", "zip": None}, False),
    (6, "bob@example.com", "555-010-0006", datetime.date(2000, 2, 29), 10.5, ["b", "a"], '{"user": {"id": "u6"}}',
     {"city": "Lima", "zip": 15001}, True),
    (6, "bob@example.com", "555-010-0006", datetime.date(2000, 2, 29), 10.5, ["b", "a"], '{"user": {"id": "u6"}}',
     {"city": "Lima", "zip": 15001}, True),
    (7, "-", "12", datetime.date(1999, 7, 4), 1000.0, ["z", "z"], '{"score": 2}', None, False),
]
"""Rows of `SCHEMA`, with ties, duplicates, NULLs, blanks and untidy text."""
SEGMENTS = ((Column(name="id", type="bigint"), Column(name="segment", type="string")),
            [(1, "gold"), (2, "silver"), (2, "bronze"), (9, "lost")])
"""The relation `segments` that the sample lookup reads: a key twice, a key no sample row has."""
RELATIONS = {"segments": SEGMENTS, "raw": (SCHEMA, SAMPLE_ROWS)}
"""The relations the sample parameters read besides their input (`raw` holds the sample rows)."""

# One valid parameter set per catalogue entry, written as in real configs (aliases included).
PARAMS: dict[str, dict[str, object]] = {
    "drop_exact_duplicates": {},
    "drop_duplicates_by_key": {"key_columns": ["id"], "order_by": "amount", "keep": "last"},
    "filter_by_condition": {"condition": "amount > 0"},
    "drop_null_rows": {"columns": ["email"], "how": "all"},
    "remove_outliers_iqr": {"column": "amount", "multiplier": 3},
    "standardize_nulls": {"null_values": ["", "-"], "trim": True},
    "trim_and_clean_strings": {"columns": ["email"]},
    "normalize_case": {"columns": ["email"], "case": "lower"},
    "remove_special_characters": {"columns": ["phone"], "replacement": "_"},
    "replace_values": {"replacements": {"email": {"n/a": None}}},
    "fill_nulls": {"fill_values": {"amount": 0}},
    "coalesce_columns": {"target_column": "contact", "source_columns": ["email", "phone"], "drop_sources": True},
    "clean_email_addresses": {"email_column": "email"},
    "clean_phone_numbers": {"phone_column": "phone", "country_code": "US"},
    "add_audit_columns": {"user": "etl"},
    "add_ingestion_metadata": {"source_system": "crm", "batch_id": "b1"},
    "add_hash_key": {"source_columns": ["id", "email"], "hash_column": "h", "algorithm": "sha256"},
    "add_business_key": {"key_columns": ["id", "email"]},
    "add_surrogate_key": {"key_columns": ["id"]},
    "add_date_components": {"date_column": "born", "prefix": "b_"},
    "add_row_number": {"partition_by": ["email"], "order_by": ["id"]},
    "add_rank": {"order_by": ["amount"], "dense": True},
    "add_age_from_birthdate": {"birthdate_column": "born"},
    "add_tenure_months": {"start_date_column": "born"},
    "aggregate": {"group_by": ["email"], "aggregations": {"amount": ["sum", "max"]}},
    "add_running_total": {"order_by": ["id"], "column": "amount"},
    "add_moving_average": {"order_by": ["id"], "column": "amount", "window": 7},
    "add_lag_lead_columns": {"order_by": ["id"], "column": "amount", "periods": 2},
    "add_ntile": {"partition_by": ["email"], "order_by": ["amount"], "n": 4, "target_column": "quartile"},
    "add_percentile_rank": {"order_by": ["amount"], "target_column": "amount_percentile"},
    "validate_range": {"column": "amount", "min_value": 0, "flag_column": "valid_amount"},
    "validate_length": {"column": "phone", "min_length": 10, "max_length": 15},
    "validate_pattern": {"column": "email", "pattern": "@", "flag_column": "has_at"},
    "mark_invalid_rows": {"condition": "amount < 0 OR email IS NULL"},
    "enforce_not_null": {"columns": ["email", "phone"], "default_value": "MISSING"},
    "select_columns": {"columns": ["amount", "id"]},
    "split_delimited_column": {"column": "email", "delimiter": "@", "target_columns": ["user", "domain"]},
    "add_validation_flags": {"rules": {"positive": "amount > 0", "reachable": "email IS NOT NULL"},
                             "flag_column": "rules_hold"},
    "aggregate_by_key": {"group_by": ["email"], "aggregations": {"amount": ["sum", "avg"]}},
    "rollup_aggregation": {"group_by": ["email", "phone"], "agg_column": "amount"},
    "cube_aggregation": {"group_by": ["email"], "agg_column": "amount", "agg_func": "max"},
    "mask_column": {"columns": ["phone"], "visible_chars": 2},
    "tokenize_column": {"columns": ["email"], "salt": "s"},
    "redact_email": {"columns": ["email"]},
    "remove_pii_columns": {"columns": ["phone"]},
    "scd_type2": {"business_key": ["id"], "compare_columns": ["email"]},
    "apply_scd_type3": {"key_columns": ["email"], "order_by": ["id"], "columns_to_track": ["phone", "amount"]},
    "close_scd_records": {"key_columns": ["id"], "end_date": "2025-11-19", "end_date_column": "valid_to"},
    "anonymize_with_lookup": {"column": "email", "lookup_dict": {"ann@example.com": "anon_1", "n/a": "anon_2"}},
    "pivot_table": {"index": ["email"], "columns": "phone", "values": "amount", "agg_func": "max",
                    "pivot_values": ["12", "555-010-0006"]},
    "split_valid_invalid": {"validation_column": "is_valid", "keep": "invalid"},
    "extract_json_field": {"json_column": "payload", "json_path": "$.user.id", "target_column": "user_id"},
    "parse_json_column": {"json_column": "payload", "schema": {"score": "double", "active": "boolean"},
                          "drop_source": True},
    "explode_array_column": {"array_column": "tags", "exploded_column_name": "tag", "keep_position": True},
    "flatten_struct_column": {"struct_column": "address"},
    "deduplicate_array_column": {"column": "tags"},
    "remove_empty_arrays": {"column": "tags"},
    "perform_lookup": {"lookup_table": "segments", "join_columns": ["id"], "select_columns": ["segment"]},
    "apply_scd_type2": {"key_columns": ["email"], "compare_columns": ["phone"], "effective_date_column": "born"},
    "apply_scd_type1": {"target_table": "raw", "key_columns": ["id"], "update_columns": ["email"]},
    "add_window_features": {"partition_by": ["email"], "order_by": ["born"], "columns": ["amount"], "lags": [1],
                            "rolling_windows": [2], "aggregation_windows": ["7000d"], "rolling_stats": ["avg", "max"]},
}

BASE = [c.name for c in SCHEMA]
EXPECTED_COLUMNS: dict[str, list[str]] = {
    "coalesce_columns": ["id", "born", "amount", "tags", "payload", "address", "is_valid", "contact"],
    "add_audit_columns": ["id", "email", "phone", "born", "amount", "tags", "payload", "address", "is_valid", "created_at", "updated_at", "created_by", "updated_by"],
    "add_ingestion_metadata": ["id", "email", "phone", "born", "amount", "tags", "payload", "address", "is_valid", "_ingestion_timestamp", "_ingestion_date",
                               "_source_system", "_batch_id"],
    "add_hash_key": ["id", "email", "phone", "born", "amount", "tags", "payload", "address", "is_valid", "h"],
    "add_date_components": ["id", "email", "phone", "born", "amount", "tags", "payload", "address", "is_valid", "b_year", "b_month", "b_day"],
    "aggregate": ["email", "amount_sum", "amount_max"],
    "add_lag_lead_columns": ["id", "email", "phone", "born", "amount", "tags", "payload", "address", "is_valid", "amount_lag_2", "amount_lead_2"],
    "add_moving_average": ["id", "email", "phone", "born", "amount", "tags", "payload", "address", "is_valid", "amount_moving_avg_7"],
    "remove_pii_columns": ["id", "email", "born", "amount", "tags", "payload", "address", "is_valid"],
    "scd_type2": ["id", "email", "phone", "born", "amount", "tags", "payload", "address", "is_valid", "valid_from", "valid_to", "is_current"],
    "apply_scd_type3": [*BASE, "phone_previous", "amount_previous"],
    "add_window_features": [*BASE, "amount_lag_1", "amount_avg_2", "amount_avg_7000d", "amount_max_2",
                            "amount_max_7000d"],
    "pivot_table": ["email", "12", "555-010-0006"],
    "parse_json_column": ["id", "email", "phone", "born", "amount", "tags", "address", "is_valid", "score", "active"],
    "explode_array_column": ["id", "email", "phone", "born", "amount", "payload", "address", "is_valid", "tag_position", "tag"],
    "flatten_struct_column": ["id", "email", "phone", "born", "amount", "tags", "payload", "is_valid", "address_city",
                              "address_zip"],
}



def test_every_transformer_has_a_test_case() -> None:
    assert set(PARAMS) == set(CATALOGUE)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_build_and_column_flow(name: str) -> None:
    op = build_op(name, PARAMS[name])
    assert name == op.NAME
    by_name = {c.name: c for c in SCHEMA}
    assert all(c in by_name for c in op.columns_read()), "the sample params name existing columns"
    assert op.type_problems(by_name) == []
    output = op.output_columns(SCHEMA)
    assert output is not None
    expected = EXPECTED_COLUMNS.get(name)
    if expected is not None:
        assert [c.name for c in output] == expected
    assert len({c.name for c in output}) == len(output), "no duplicate output columns"


def test_aliases_and_single_strings_are_accepted() -> None:
    op = build_op("clean_email_addresses", {"email_column": "email"})
    assert op == tf.CleanEmailAddresses(columns=("email",))
    assert build_op("clean_phone_numbers", {"phone_column": "p", "country_code": "+44"}).country_code == "+44"  # type: ignore[attr-defined]
    assert build_op("clean_phone_numbers", {"phone_column": "p", "country_code": "gb"}).country_code == "+44"  # type: ignore[attr-defined]


def test_aggregate_measure_forms() -> None:
    as_map = build_op("aggregate", {"group_by": "d", "aggregations": {"x": "sum"}})
    as_list = build_op("aggregate", {"group_by": "d", "measures": [{"name": "x_sum", "expression": "sum(x)"}]})
    assert [m.name for m in as_map.measures] == [m.name for m in as_list.measures] == ["x_sum"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "params", "fragment", "param"), [
    ("add_hash_key", {"source_colums": ["a"]}, "has no parameter `source_colums`", "source_colums"),
    ("add_hash_key", {"source_columns": ["a"], "algorithm": "crc32"}, "expected one of md5, sha256, sha512", "algorithm"),
    ("normalize_case", {"columns": ["a"], "case": "title"}, "expected one of upper, lower", "case"),
    ("drop_duplicates_by_key", {"key_columns": ["a"]}, "needs the parameter `order_by`", None),
    ("replace_values", {"replacements": {}}, "non-empty map", "replacements"),
    ("aggregate", {"aggregations": {"x": ["median"]}}, "unknown aggregate function `median`", "aggregations"),
    ("remove_outliers_iqr", {"column": "a", "multiplier": "big"}, "expected a number", "multiplier"),
    ("mask_column", {"columns": ["a"], "visible_chars": True}, "expected an integer", "visible_chars"),
    ("clean_phone_numbers", {"columns": ["a"], "country_code": "Narnia"}, "ISO country code", "country_code"),
    ("add_hash_key", {"source_columns": ["a"], "hash_column": "h", "target_column": "g"}, "given twice", "target_column"),
])
def test_parameter_problems(name: str, params: dict[str, object], fragment: str, param: str | None) -> None:
    with pytest.raises(InvalidParams) as error:
        build_op(name, params)
    problem = next(p for p in error.value.problems if fragment in p.message)
    assert problem.param == param


def test_unknown_parameter_suggests_the_closest() -> None:
    with pytest.raises(InvalidParams) as error:
        build_op("add_hash_key", {"source_colums": ["a"]})
    assert error.value.problems[0].help == "did you mean `source_columns`?"


def test_type_problems() -> None:
    by_name = {c.name: c for c in SCHEMA}
    assert tf.NormalizeCase(columns=("id",)).type_problems(by_name)
    assert tf.FillNulls(fill_values=(tf.FillValue(column="amount", value="zero"),)).type_problems(by_name)
    assert tf.AddDateComponents(date_column="email").type_problems(by_name)
    assert tf.RemoveOutliersIqr(column="email").type_problems(by_name)
    assert tf.Aggregate(measures=(tf.Measure(name="s", expression="SUM( email )"),)).type_problems(by_name)
    assert not tf.FillNulls(fill_values=(tf.FillValue(column="amount", value=1),)).type_problems(by_name)
