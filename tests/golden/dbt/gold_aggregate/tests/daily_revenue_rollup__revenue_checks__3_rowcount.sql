-- Check 3 of `revenue_checks` in pipeline `daily_revenue_rollup`.
{{ config(meta={"sparklec": {"pipeline": "daily_revenue_rollup", "task": "revenue_checks"}}) }}

SELECT
  *
FROM (
  SELECT
    COUNT(*) AS row_count
  FROM {{ ref('revenue') }}
) AS counted
WHERE
  row_count < 1
