-- Check 3 of `null_checks` in pipeline `customer_silver_daily`.
{{ config(meta={"sparklec": {"pipeline": "customer_silver_daily", "task": "null_checks"}}) }}

SELECT
  *
FROM {{ ref('clean') }}
WHERE
  NOT email IS NULL AND NOT (
    {{ sparklec_regexp_like("email", sparklec_string("^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$")) }}
  )
