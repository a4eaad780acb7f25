{% macro sparklec_string(value) -%}
  {{ return(adapter.dispatch('sparklec_string')(value)) }}
{%- endmacro %}

{# Spark reads backslash escapes in string literals. #}
{% macro default__sparklec_string(value) -%}
  '{{ value | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{% macro duckdb__sparklec_string(value) -%}
  '{{ value | replace("'", "''") }}'
{%- endmacro %}
