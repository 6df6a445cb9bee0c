-- Recording levels of each source per day: loudness, clipping and speech share, for the report's device plot.
SELECT
  CASE WHEN STARTS_WITH(owner, 'edge:') THEN SUBSTR(owner, 6) ELSE '(uploads)' END AS device,
  DATE(created_at) AS day,
  COUNT(*) AS jobs,
  ROUND(AVG(loudness_lufs), 2) AS mean_lufs,
  ROUND(MAX(clipping_ratio), 6) AS worst_clipping_ratio,
  ROUND(AVG(speech_ratio), 4) AS mean_speech_ratio
FROM mixscribe.jobs_current
WHERE loudness_lufs IS NOT NULL
GROUP BY device, day
ORDER BY device, day
