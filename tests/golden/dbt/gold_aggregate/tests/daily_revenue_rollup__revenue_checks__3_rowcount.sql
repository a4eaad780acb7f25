-- Check 3 of `revenue_checks` in pipeline `daily_revenue_rollup`.

SELECT
  *
FROM (
  SELECT
    COUNT(*) AS row_count
  FROM {{ ref('daily_revenue') }}
) AS counted
WHERE
  row_count < 1
