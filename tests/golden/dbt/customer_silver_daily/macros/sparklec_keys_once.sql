{# NULL, or an error when two rows of `relation` hold the same `keys` (NULLs match nothing): rows a merge
   cannot write the same way on every warehouse, so the model fails before it writes. #}
{% macro sparklec_keys_once(relation, keys) -%}
  {{ return(adapter.dispatch('sparklec_keys_once')(relation, keys)) }}
{%- endmacro %}

{% macro sparklec_repeated_keys(relation, keys) -%}
  select {{ keys | join(', ') }} from {{ relation }}
  where {{ keys | join(' is not null and ') }} is not null
  group by {{ keys | join(', ') }} having count(*) > 1
{%- endmacro %}

{% macro default__sparklec_keys_once(relation, keys) -%}
  (select assert_true(count(*) = 0, 'the rows to merge hold a key more than once') from ({{ sparklec_repeated_keys(relation, keys) }}) as repeated)
{%- endmacro %}

{% macro duckdb__sparklec_keys_once(relation, keys) -%}
  (select case when count(*) > 0 then error('the rows to merge hold a key more than once') end from ({{ sparklec_repeated_keys(relation, keys) }}) as repeated)
{%- endmacro %}
