-- Check 3 of `checks` in pipeline `customers_cleaning`.
{{ config(meta={"sparklec": {"pipeline": "customers_cleaning", "task": "checks"}}) }}

SELECT
  *
FROM {{ ref('clean') }}
WHERE
  NOT email IS NULL AND NOT (
    {{ sparklec_regexp_like("email", sparklec_string("^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$")) }}
  )
