-- Recording levels by source: each edge device, and web/bucket uploads together.
SELECT
  CASE WHEN STARTS_WITH(owner, 'edge:') THEN SUBSTR(owner, 6) ELSE '(uploads)' END AS device,
  COUNT(*) AS jobs,
  ROUND(AVG(loudness_lufs), 2) AS mean_lufs,
  ROUND(MIN(loudness_lufs), 2) AS quietest_lufs,
  ROUND(MAX(clipping_ratio), 6) AS worst_clipping_ratio,
  ROUND(AVG(speech_ratio), 4) AS mean_speech_ratio
FROM mixscribe.jobs_current
WHERE loudness_lufs IS NOT NULL
GROUP BY device
ORDER BY device
