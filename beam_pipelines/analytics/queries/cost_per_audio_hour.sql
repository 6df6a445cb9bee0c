-- LLM notes cost per audio hour, by notes generator (the fallback costs nothing).
SELECT
  COALESCE(notes_generator, '(none)') AS notes_generator,
  COUNT(*) AS jobs,
  ROUND(SUM(COALESCE(audio_duration_s, 0)) / 3600, 6) AS audio_hours,
  ROUND(SUM(COALESCE(llm_cost_usd, 0)), 6) AS llm_cost_usd,
  ROUND(SUM(COALESCE(llm_cost_usd, 0)) / NULLIF(SUM(COALESCE(audio_duration_s, 0)) / 3600, 0), 4) AS usd_per_audio_hour
FROM mixscribe.jobs_current
WHERE status = 'done'
GROUP BY notes_generator
ORDER BY notes_generator
