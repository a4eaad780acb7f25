{# The columns as text joined by `separator`; a NULL becomes '\N', so (a, NULL, b) and (a, b, NULL) differ. #}
{% macro sparklec_concat_key(columns, separator="||") -%}
  concat_ws({{ sparklec_string(separator) }}
    {%- for column in columns -%}
      , coalesce(cast({{ adapter.quote(column) }} as string), {{ sparklec_string("\\N") }})
    {%- endfor -%}
  )
{%- endmacro %}
