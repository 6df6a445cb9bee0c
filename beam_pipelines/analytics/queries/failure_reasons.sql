-- Why jobs fail: stable error codes, most frequent first, with their share of failures.
SELECT
  error_code,
  COUNT(*) AS jobs,
  ROUND(COUNT(*) / SUM(COUNT(*)) OVER (), 4) AS share
FROM mixscribe.jobs_current
WHERE status = 'failed'
GROUP BY error_code
ORDER BY jobs DESC, error_code
