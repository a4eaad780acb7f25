{# `value` as NULL when it (trimmed, with `trim`) is one of `null_values`, compared exactly. #}
{% macro sparklec_standardize_nulls(value, null_values=["", "NULL", "null", "Null", "N/A", "n/a", "NA", "None", "none", "#N/A"], trim=false) -%}
  case when {{ "trim(" ~ value ~ ")" if trim else value }} in (
    {%- for null_value in null_values -%}
      {{ sparklec_string(null_value) }}{{ ", " if not loop.last }}
    {%- endfor -%}
  ) then null else {{ value }} end
{%- endmacro %}
