"""The project macros that generated dbt models call: one file each, dispatched per warehouse
(``default__`` for Spark SQL, ``duckdb__`` for local runs)."""

from __future__ import annotations

import json

from sparklec.ir.transformers import DEFAULT_NULL_VALUES
from sparklec.sql.ops import NULL_MARKER

MACRO_PREFIX = "sparklec_"

MACROS: dict[str, str] = {
    "standardize_nulls": """\
{# `value` as NULL when it (trimmed, with `trim`) is one of `null_values`, compared exactly. #}
{% macro sparklec_standardize_nulls(value, null_values=""" + json.dumps(list(DEFAULT_NULL_VALUES)) + """, trim=false) -%}
  case when {{ "trim(" ~ value ~ ")" if trim else value }} in (
    {%- for null_value in null_values -%}
      {{ sparklec_string(null_value) }}{{ ", " if not loop.last }}
    {%- endfor -%}
  ) then null else {{ value }} end
{%- endmacro %}
""",
    "collapse_spaces": """\
{# `value` with every run of white space made one space, then trimmed. #}
{% macro sparklec_collapse_spaces(value) -%}
  trim({{ sparklec_regexp_replace(value, sparklec_string("\\\\s+"), "' '") }})
{%- endmacro %}
""",
    "concat_key": """\
{# The columns as text joined by `separator`; a NULL becomes '\\N', so (a, NULL, b) and (a, b, NULL) differ. #}
{% macro sparklec_concat_key(columns, separator="||") -%}
  concat_ws({{ sparklec_string(separator) }}
    {%- for column in columns -%}
      , coalesce(cast({{ adapter.quote(column) }} as string), {{ sparklec_string(""" + json.dumps(NULL_MARKER) + """) }})
    {%- endfor -%}
  )
{%- endmacro %}
""",
    "hash_key": """\
{# A NULL-safe hash (md5, sha256 or sha512) of the columns joined by `separator`. #}
{% macro sparklec_hash_key(columns, algorithm="md5", separator="||") -%}
  {%- set key = sparklec_concat_key(columns, separator) -%}
  {%- if algorithm == "md5" -%}
    md5({{ key }})
  {%- else -%}
    {{ sparklec_sha2(key, algorithm[3:] | int) }}
  {%- endif -%}
{%- endmacro %}
""",
    "per_target": """\
{# SQL you wrote, as sparklec transpiled it for each warehouse. #}
{% macro sparklec_per_target(spark, duckdb) -%}
  {{ return(adapter.dispatch('sparklec_per_target')(spark, duckdb)) }}
{%- endmacro %}

{% macro default__sparklec_per_target(spark, duckdb) -%}
  {{ spark }}
{%- endmacro %}

{% macro duckdb__sparklec_per_target(spark, duckdb) -%}
  {{ duckdb }}
{%- endmacro %}
""",
    "rewrite_string_columns": """\
{# Every string column of the input (less `removed`, plus `added`), rewritten by `template`,
   in which `placeholder` stands for the column; the other columns are kept as they are. #}
{% macro sparklec_rewrite_string_columns(columns, removed, added, template, placeholder) -%}
  {%- set names = [] -%}
  {%- for column in columns if column.is_string() and column.name not in removed -%}
    {%- do names.append(column.name) -%}
  {%- endfor -%}
  {%- set names = names + added -%}
  {%- if names -%}
    {%- set quoted = [] -%}
    {%- for name in names -%}
      {%- do quoted.append(adapter.quote(name)) -%}
    {%- endfor -%}
    {{ sparklec_star_except(quoted) }}
    {%- for name in names -%}
      , {{ template | replace(placeholder, adapter.quote(name)) }} as {{ adapter.quote(name) }}
    {%- endfor -%}
  {%- else -%}
    *
  {%- endif -%}
{%- endmacro %}
""",
    "string": """\
{% macro sparklec_string(value) -%}
  {{ return(adapter.dispatch('sparklec_string')(value)) }}
{%- endmacro %}

{# Spark reads backslash escapes in string literals. #}
{% macro default__sparklec_string(value) -%}
  '{{ value | replace("\\\\", "\\\\\\\\") | replace("'", "\\\\'") }}'
{%- endmacro %}

{% macro duckdb__sparklec_string(value) -%}
  '{{ value | replace("'", "''") }}'
{%- endmacro %}
""",
    "regexp_replace": """\
{% macro sparklec_regexp_replace(value, pattern, replacement) -%}
  {{ return(adapter.dispatch('sparklec_regexp_replace')(value, pattern, replacement)) }}
{%- endmacro %}

{# Every match is replaced, as in Spark. #}
{% macro default__sparklec_regexp_replace(value, pattern, replacement) -%}
  regexp_replace({{ value }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}

{% macro duckdb__sparklec_regexp_replace(value, pattern, replacement) -%}
  regexp_replace({{ value }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}
""",
    "regexp_like": """\
{% macro sparklec_regexp_like(value, pattern) -%}
  {{ return(adapter.dispatch('sparklec_regexp_like')(value, pattern)) }}
{%- endmacro %}

{% macro default__sparklec_regexp_like(value, pattern) -%}
  ({{ value }} rlike {{ pattern }})
{%- endmacro %}

{% macro duckdb__sparklec_regexp_like(value, pattern) -%}
  regexp_matches({{ value }}, {{ pattern }})
{%- endmacro %}
""",
    "sha2": """\
{% macro sparklec_sha2(value, bits) -%}
  {{ return(adapter.dispatch('sparklec_sha2')(value, bits)) }}
{%- endmacro %}

{% macro default__sparklec_sha2(value, bits) -%}
  sha2({{ value }}, {{ bits }})
{%- endmacro %}

{% macro duckdb__sparklec_sha2(value, bits) -%}
  {%- if bits != 256 -%}
    {{ exceptions.raise_compiler_error("DuckDB has SHA-256 only, not SHA-" ~ bits) }}
  {%- endif -%}
  sha256({{ value }})
{%- endmacro %}
""",
    "percentile": """\
{% macro sparklec_percentile(value, fraction) -%}
  {{ return(adapter.dispatch('sparklec_percentile')(value, fraction)) }}
{%- endmacro %}

{# The exact, interpolated percentile. #}
{% macro default__sparklec_percentile(value, fraction) -%}
  percentile({{ value }}, {{ fraction }})
{%- endmacro %}

{% macro duckdb__sparklec_percentile(value, fraction) -%}
  quantile_cont({{ value }}, {{ fraction }})
{%- endmacro %}
""",
    "star_except": """\
{% macro sparklec_star_except(columns) -%}
  {{ return(adapter.dispatch('sparklec_star_except')(columns)) }}
{%- endmacro %}

{% macro default__sparklec_star_except(columns) -%}
  * except ({{ columns | join(', ') }})
{%- endmacro %}

{% macro duckdb__sparklec_star_except(columns) -%}
  * exclude ({{ columns | join(', ') }})
{%- endmacro %}
""",
    "star_replacing": """\
{# Every column but `removed`, and but those of `present` ([name, as SQL] pairs) the input has; when `adder`
   names a transformer that may not replace a column, such a column is an error. #}
{% macro sparklec_star_replacing(columns, removed, present, adder=none) -%}
  {%- set names = columns | map(attribute='name') | map('lower') | list -%}
  {%- set clashes = present | selectattr(0, 'in', names) | list -%}
  {%- if adder and clashes and execute -%}
    {{ exceptions.raise_compiler_error("`" ~ adder ~ "` adds column `" ~ clashes[0][0] ~ "`, which already exists [E206]; choose another target column name" ~ (", or set `overwrite: true`" if adder == "add_audit_columns" else "")) }}
  {%- endif -%}
  {%- set dropped = removed + (clashes | map(attribute=1) | list) -%}
  {%- if dropped -%}{{ sparklec_star_except(dropped) }}{%- else -%}*{%- endif -%}
{%- endmacro %}
""",
    "keys_once": """\
{# NULL, or an error when two rows of `relation` hold the same `keys` (NULLs match nothing): rows a merge
   cannot write the same way on every warehouse, so the model fails before it writes. #}
{% macro sparklec_keys_once(relation, keys) -%}
  {{ return(adapter.dispatch('sparklec_keys_once')(relation, keys)) }}
{%- endmacro %}

{% macro sparklec_repeated_keys(relation, keys) -%}
  select {{ keys | join(', ') }} from {{ relation }}
  where {{ keys | join(' is not null and ') }} is not null
  group by {{ keys | join(', ') }} having count(*) > 1
{%- endmacro %}

{% macro default__sparklec_keys_once(relation, keys) -%}
  (select assert_true(count(*) = 0, 'the rows to merge hold a key more than once') from ({{ sparklec_repeated_keys(relation, keys) }}) as repeated)
{%- endmacro %}

{% macro duckdb__sparklec_keys_once(relation, keys) -%}
  (select case when count(*) > 0 then error('the rows to merge hold a key more than once') end from ({{ sparklec_repeated_keys(relation, keys) }}) as repeated)
{%- endmacro %}
""",
    "json_value": """\
{# The text at `path` in the JSON text `json`, NULL where the text is not JSON. #}
{% macro sparklec_json_value(json, path) -%}
  {{ return(adapter.dispatch('sparklec_json_value')(json, path)) }}
{%- endmacro %}

{% macro default__sparklec_json_value(json, path) -%}
  get_json_object({{ json }}, {{ sparklec_string(path) }})
{%- endmacro %}

{% macro duckdb__sparklec_json_value(json, path) -%}
  case when json_valid({{ json }}) then {{ json }} ->> {{ sparklec_string(path) }} end
{%- endmacro %}
""",
    "array_size": """\
{% macro sparklec_array_size(value) -%}
  {{ return(adapter.dispatch('sparklec_array_size')(value)) }}
{%- endmacro %}

{% macro default__sparklec_array_size(value) -%}
  size({{ value }})
{%- endmacro %}

{% macro duckdb__sparklec_array_size(value) -%}
  len({{ value }})
{%- endmacro %}
""",
    "array_distinct": """\
{# Each element of the array once, at its first position (NULL too). #}
{% macro sparklec_array_distinct(value) -%}
  {{ return(adapter.dispatch('sparklec_array_distinct')(value)) }}
{%- endmacro %}

{% macro default__sparklec_array_distinct(value) -%}
  array_distinct({{ value }})
{%- endmacro %}

{% macro duckdb__sparklec_array_distinct(value) -%}
  list_filter({{ value }}, lambda x, i: list_position({{ value }}, x) = i)
{%- endmacro %}
""",
    "explode_outer": """\
{# Each row once per element of `array` (position from 0, element), and once with NULLs when the array is NULL
   or empty: the relation __sparklec_exploded(__sparklec_position, __sparklec_item). #}
{% macro sparklec_explode_outer(array) -%}
  {{ return(" " ~ adapter.dispatch('sparklec_explode_outer')(array)) }}
{%- endmacro %}

{% macro default__sparklec_explode_outer(array) -%}
  lateral view outer posexplode({{ array }}) __sparklec_exploded as __sparklec_position, __sparklec_item
{%- endmacro %}

{% macro duckdb__sparklec_explode_outer(array) -%}
  left join lateral (select position - 1 as __sparklec_position, item as __sparklec_item
    from unnest({{ array }}) with ordinality as elements(item, position)) as __sparklec_exploded on true
{%- endmacro %}
""",
    "day_number": """\
{# A date as the number of days since 1970-01-01. #}
{% macro sparklec_day_number(value) -%}
  {{ return(adapter.dispatch('sparklec_day_number')(value)) }}
{%- endmacro %}

{% macro default__sparklec_day_number(value) -%}
  datediff({{ value }}, date'1970-01-01')
{%- endmacro %}

{% macro duckdb__sparklec_day_number(value) -%}
  date_diff('day', date '1970-01-01', {{ value }})
{%- endmacro %}
""",
    "epoch_second": """\
{# A time as seconds since 1970-01-01 00:00:00. #}
{% macro sparklec_epoch_second(value) -%}
  {{ return(adapter.dispatch('sparklec_epoch_second')(value)) }}
{%- endmacro %}

{% macro default__sparklec_epoch_second(value) -%}
  unix_timestamp(cast({{ value }} as timestamp))
{%- endmacro %}

{% macro duckdb__sparklec_epoch_second(value) -%}
  epoch(cast({{ value }} as timestamp))
{%- endmacro %}
""",
    "seconds_since": """\
{% macro sparklec_seconds_since(value) -%}
  {{ return(adapter.dispatch('sparklec_seconds_since')(value)) }}
{%- endmacro %}

{% macro default__sparklec_seconds_since(value) -%}
  (unix_timestamp(current_timestamp()) - unix_timestamp({{ value }}))
{%- endmacro %}

{% macro duckdb__sparklec_seconds_since(value) -%}
  (epoch(current_timestamp::timestamp) - epoch(({{ value }})::timestamp))
{%- endmacro %}
""",
}


def macros_used(texts: list[str]) -> dict[str, str]:
    """The macro files (path → text) that `texts` call, and the macros those call."""
    used: dict[str, str] = {}
    pending = list(texts)
    while pending:
        text = pending.pop()
        for name, body in MACROS.items():
            path = f"macros/{MACRO_PREFIX}{name}.sql"
            if path not in used and f"{MACRO_PREFIX}{name}(" in text:
                used[path] = body
                pending.append(body)
    return dict(sorted(used.items()))
