{# A NULL-safe hash (md5, sha256 or sha512) of the columns joined by `separator`. #}
{% macro sparklec_hash_key(columns, algorithm="md5", separator="||") -%}
  {%- set key = sparklec_concat_key(columns, separator) -%}
  {%- if algorithm == "md5" -%}
    md5({{ key }})
  {%- else -%}
    {{ sparklec_sha2(key, algorithm[3:] | int) }}
  {%- endif -%}
{%- endmacro %}
