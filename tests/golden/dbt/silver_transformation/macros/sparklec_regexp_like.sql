{% macro sparklec_regexp_like(value, pattern) -%}
  {{ return(adapter.dispatch('sparklec_regexp_like')(value, pattern)) }}
{%- endmacro %}

{% macro default__sparklec_regexp_like(value, pattern) -%}
  ({{ value }} rlike {{ pattern }})
{%- endmacro %}

{% macro duckdb__sparklec_regexp_like(value, pattern) -%}
  regexp_matches({{ value }}, {{ pattern }})
{%- endmacro %}
