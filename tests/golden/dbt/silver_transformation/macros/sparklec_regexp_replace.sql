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
