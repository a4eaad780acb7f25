"""Broken configs: each gives one exact diagnostic code at an exact line and column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

BAD = Path(__file__).parent / "bad_configs"

# file → (code, line, column) of the first diagnostic
EXPECTED = {
    "bad_aggregation.json": ("E112", 4, 55),
    "bad_column_type.yaml": ("E113", 7, 39),
    "bad_cron.yaml": ("E210", 5, 11),
    "bad_date_range.yaml": ("E113", 8, 23),
    "bad_env.json": ("E109", 4, 10),
    "bad_name.json": ("E110", 1, 19),
    "bad_pipeline_type.yaml": ("E109", 2, 16),
    "bad_retry_duration.yaml": ("E113", 7, 33),
    "bad_table_name.yaml": ("E113", 4, 15),
    "bad_transformer_choice.yaml": ("E112", 10, 13),
    "bad_trigger.yaml": ("E109", 8, 14),
    "bad_write_mode.yaml": ("E109", 6, 13),
    "bad_yaml_indent.yaml": ("E102", 3, 5),
    "duplicate_key.json": ("E105", 4, 3),
    "fill_value_type.yaml": ("E205", 7, 5),
    "malformed_variable.yaml": ("E107", 4, 21),
    "merge_without_key.yaml": ("E106", 6, 13),
    "missing_comma.json": ("E101", 3, 3),
    "missing_env.json": ("E106", 1, 1),
    "missing_type_field.yaml": ("E106", 1, 1),
    "not_a_mapping.yaml": ("E103", 1, 1),
    "path_name.json": ("E110", 1, 19),
    "single_quotes.json": ("E101", 2, 3),
    "streaming_without_checkpoint.yaml": ("E106", 1, 1),
    "string_for_a_list.json": ("E103", 7, 18),
    "trailing_comma.json": ("E101", 4, 1),
    "transformer_not_mapping.json": ("E103", 4, 20),
    "undefined_variable.json": ("E108", 5, 26),
    "unknown_column.yaml": ("E204", 8, 28),
    "unknown_field.json": ("E104", 3, 3),
    "unknown_transformer.yaml": ("E111", 7, 11),
    "unknown_transformer_param.json": ("E112", 5, 41),
    "wrong_type_list.yaml": ("E103", 6, 14),
    "wrong_type_tags.json": ("E103", 6, 33),
}


def test_every_bad_config_is_listed() -> None:
    assert sorted(p.name for p in BAD.iterdir()) == sorted(EXPECTED)
    assert len(EXPECTED) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_config(name: str, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SPARKLEC_TEST_UNSET_CATALOG", raising=False)
    result = cli("check", BAD / name, "--diagnostics-format", "json")
    assert result.code == 1
    errors = [d for d in json.loads(result.err) if d["severity"] == "error"]
    assert len(errors) == 1, errors
    code, line, column = EXPECTED[name]
    assert (errors[0]["code"], errors[0]["line"], errors[0]["column"]) == (code, line, column)
    assert errors[0]["file"] == str(BAD / name)


def test_a_string_where_a_list_belongs_shows_the_list_to_write(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", BAD / "string_for_a_list.json")
    assert '`primary_key` must be a list of strings' in result.err and '["customer_id"]' in result.err


@pytest.mark.parametrize("name", ["unknown_field.json", "unknown_column.yaml", "bad_yaml_indent.yaml"])
def test_text_rendering_quotes_the_line_with_a_caret(name: str, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", BAD / name)
    code, line, column = EXPECTED[name]
    source_line = (BAD / name).read_text().splitlines()[line - 1]
    assert result.err.startswith(f"error[{code}]: ")
    assert f"--> {BAD / name}:{line}:{column}" in result.err
    assert f"{line} | {source_line}" in result.err
    caret_line = next(x for x in result.err.splitlines() if x.strip().startswith("|") and "^" in x)
    assert caret_line.index("^") == caret_line.index("|") + 1 + column
    assert "Traceback" not in result.err
