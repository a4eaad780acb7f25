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
