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
