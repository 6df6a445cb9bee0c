-- Jobs, outcomes and audio hours per day (by the day the job was created).
SELECT
  DATE(created_at) AS day,
  COUNT(*) AS jobs,
  COUNTIF(status = 'done') AS done,
  COUNTIF(status = 'failed') AS failed,
  ROUND(COUNTIF(status = 'failed') / COUNT(*), 4) AS failure_rate,
  ROUND(SUM(COALESCE(audio_duration_s, 0)) / 3600, 6) AS audio_hours
FROM mixscribe.jobs_current
GROUP BY day
ORDER BY day
