-- Rollout arms side by side (mixscribe.rollouts): speed, confidence, likely hallucinations, failures and
-- compute cost per audio hour. Cost: each job's model seconds (real-time factor x audio length) at its
-- class's task price, Cloud Run list prices in us-central1 as bench/capacity_model.py prices them: an L4
-- task (4 vCPU, 16 GiB, one L4) $1.0465/h for high and normal, a 4-vCPU 8-GiB CPU task $0.3168/h for batch.
WITH priced AS (
  SELECT
    *,
    CASE WHEN priority = 'batch' THEN 0.3168 ELSE 1.0465 END AS usd_per_task_hour
  FROM mixscribe.jobs_current
  WHERE arm IS NOT NULL
)
SELECT
  arm,
  MAX(model) AS model,
  COUNT(*) AS jobs,
  ROUND(AVG(real_time_factor), 4) AS real_time_factor,
  ROUND(AVG(avg_logprob), 4) AS mean_logprob,
  ROUND(AVG(hallucination_share), 4) AS hallucination_share,
  ROUND(AVG(CASE WHEN status = 'failed' THEN 1.0 ELSE 0.0 END), 4) AS failure_rate,
  ROUND(
    SUM(COALESCE(real_time_factor * audio_duration_s, 0) / 3600 * usd_per_task_hour)
      / NULLIF(SUM(COALESCE(audio_duration_s, 0)) / 3600, 0),
    4
  ) AS usd_per_audio_hour
FROM priced
GROUP BY arm
ORDER BY arm
