{% macro sparklec_star_except(columns) -%}
  {{ return(adapter.dispatch('sparklec_star_except')(columns)) }}
{%- endmacro %}

{% macro default__sparklec_star_except(columns) -%}
  * except ({{ columns | join(', ') }})
{%- endmacro %}

{% macro duckdb__sparklec_star_except(columns) -%}
  * exclude ({{ columns | join(', ') }})
{%- endmacro %}
