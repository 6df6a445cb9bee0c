-- Upload-to-done latency per day: nearest-rank p50, p95 and max over finished jobs.
-- Written with ROW_NUMBER/COUNT windows because PERCENTILE_CONT (BigQuery) and quantile_cont
-- (DuckDB) have no common spelling.
WITH ranked AS (
  SELECT
    DATE(completed_at) AS day,
    total_s,
    ROW_NUMBER() OVER (PARTITION BY DATE(completed_at) ORDER BY total_s) AS rn,
    COUNT(*) OVER (PARTITION BY DATE(completed_at)) AS n
  FROM mixscribe.jobs_current
  WHERE status = 'done' AND total_s IS NOT NULL
)
SELECT
  day,
  n AS jobs,
  MAX(CASE WHEN rn = CAST(CEIL(0.50 * n) AS INT64) THEN total_s END) AS p50_s,
  MAX(CASE WHEN rn = CAST(CEIL(0.95 * n) AS INT64) THEN total_s END) AS p95_s,
  MAX(total_s) AS max_s
FROM ranked
GROUP BY day, n
ORDER BY day
