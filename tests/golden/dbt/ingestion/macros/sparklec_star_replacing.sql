{# Every column but `removed`, and but those of `present` ([name, as SQL] pairs) the input has. #}
{% macro sparklec_star_replacing(columns, removed, present) -%}
  {%- set names = columns | map(attribute='name') | map('lower') | list -%}
  {%- set dropped = removed + (present | selectattr(0, 'in', names) | map(attribute=1) | list) -%}
  {%- if dropped -%}{{ sparklec_star_except(dropped) }}{%- else -%}*{%- endif -%}
{%- endmacro %}
