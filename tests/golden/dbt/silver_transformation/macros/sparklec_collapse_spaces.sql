{# `value` with every run of white space made one space, then trimmed. #}
{% macro sparklec_collapse_spaces(value) -%}
  trim({{ sparklec_regexp_replace(value, sparklec_string("\\s+"), "' '") }})
{%- endmacro %}
