-- One row per job: its current state. The sink appends (one row per state change, and a retried write
-- may append a row twice), so every query reads this view, never the table. The status is the latest
-- stage reached (the lifecycle's ranks, mixscribe.jobs.status_rank; of two terminal states the first);
-- the stage times are the earliest seen; every other column is its latest non-empty value, so a row
-- written after a pipeline restart (which folds only the events it has seen since) completes the job
-- rather than erasing what earlier rows knew.
SELECT
  job_id,
  LAST_VALUE(owner IGNORE NULLS) OVER job AS owner,
  status,
  LAST_VALUE(error_code IGNORE NULLS) OVER job AS error_code,
  LAST_VALUE(model IGNORE NULLS) OVER job AS model,
  LAST_VALUE(language IGNORE NULLS) OVER job AS language,
  LAST_VALUE(priority IGNORE NULLS) OVER job AS priority,
  MIN(created_at) OVER job AS created_at,
  MIN(started_at) OVER job AS started_at,
  MIN(transcribed_at) OVER job AS transcribed_at,
  MIN(completed_at) OVER job AS completed_at,
  LAST_VALUE(queue_s IGNORE NULLS) OVER job AS queue_s,
  LAST_VALUE(transcribe_s IGNORE NULLS) OVER job AS transcribe_s,
  LAST_VALUE(notes_s IGNORE NULLS) OVER job AS notes_s,
  LAST_VALUE(total_s IGNORE NULLS) OVER job AS total_s,
  LAST_VALUE(audio_duration_s IGNORE NULLS) OVER job AS audio_duration_s,
  LAST_VALUE(speech_ratio IGNORE NULLS) OVER job AS speech_ratio,
  LAST_VALUE(loudness_lufs IGNORE NULLS) OVER job AS loudness_lufs,
  LAST_VALUE(clipping_ratio IGNORE NULLS) OVER job AS clipping_ratio,
  LAST_VALUE(real_time_factor IGNORE NULLS) OVER job AS real_time_factor,
  LAST_VALUE(word_count IGNORE NULLS) OVER job AS word_count,
  LAST_VALUE(notes_generator IGNORE NULLS) OVER job AS notes_generator,
  LAST_VALUE(llm_prompt_tokens IGNORE NULLS) OVER job AS llm_prompt_tokens,
  LAST_VALUE(llm_completion_tokens IGNORE NULLS) OVER job AS llm_completion_tokens,
  LAST_VALUE(llm_cost_usd IGNORE NULLS) OVER job AS llm_cost_usd,
  MAX(attempts) OVER job AS attempts,
  MAX(updated_at) OVER job AS updated_at,
  LAST_VALUE(arm IGNORE NULLS) OVER job AS arm,
  LAST_VALUE(cache_hit IGNORE NULLS) OVER job AS cache_hit,
  LAST_VALUE(avg_logprob IGNORE NULLS) OVER job AS avg_logprob,
  LAST_VALUE(hallucination_share IGNORE NULLS) OVER job AS hallucination_share
FROM mixscribe.jobs
WINDOW job AS (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
QUALIFY ROW_NUMBER() OVER (
  PARTITION BY job_id
  ORDER BY
    CASE status
      WHEN 'queued' THEN 0 WHEN 'transcribing' THEN 1 WHEN 'transcribed' THEN 2 WHEN 'summarizing' THEN 3
      WHEN 'done' THEN 4 WHEN 'failed' THEN 4 ELSE -1
    END DESC,
    updated_at
) = 1
