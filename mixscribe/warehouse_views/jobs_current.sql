-- One row per job: its current state. The sink appends (one row per state change, and a retried write
-- may append a row twice), so every query reads this view, never the table. The status is the latest
-- stage reached (the lifecycle's ranks, mixscribe.jobs.status_rank; of two terminal states the first);
-- the stage times are the earliest seen; every other column is its latest non-empty value, so a row
-- written after a pipeline restart (which folds only the events it has seen since) completes the job
-- rather than erasing what earlier rows knew. Written without QUALIFY and WINDOW clauses, whose places in a
-- query BigQuery and DuckDB (the emulator's engine) order differently.
SELECT * EXCEPT (stage)
FROM (
  SELECT
    job_id,
    LAST_VALUE(owner IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS owner,
    status,
    LAST_VALUE(error_code IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS error_code,
    LAST_VALUE(model IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS model,
    LAST_VALUE(language IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS language,
    LAST_VALUE(priority IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS priority,
    MIN(created_at) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS created_at,
    MIN(started_at) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS started_at,
    MIN(transcribed_at) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS transcribed_at,
    MIN(completed_at) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS completed_at,
    LAST_VALUE(queue_s IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS queue_s,
    LAST_VALUE(transcribe_s IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS transcribe_s,
    LAST_VALUE(notes_s IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS notes_s,
    LAST_VALUE(total_s IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS total_s,
    LAST_VALUE(audio_duration_s IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS audio_duration_s,
    LAST_VALUE(speech_ratio IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS speech_ratio,
    LAST_VALUE(loudness_lufs IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS loudness_lufs,
    LAST_VALUE(clipping_ratio IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS clipping_ratio,
    LAST_VALUE(real_time_factor IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS real_time_factor,
    LAST_VALUE(word_count IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS word_count,
    LAST_VALUE(notes_generator IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS notes_generator,
    LAST_VALUE(llm_prompt_tokens IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS llm_prompt_tokens,
    LAST_VALUE(llm_completion_tokens IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS llm_completion_tokens,
    LAST_VALUE(llm_cost_usd IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS llm_cost_usd,
    MAX(attempts) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS attempts,
    MAX(updated_at) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS updated_at,
    LAST_VALUE(arm IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS arm,
    LAST_VALUE(cache_hit IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS cache_hit,
    LAST_VALUE(avg_logprob IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS avg_logprob,
    LAST_VALUE(hallucination_share IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS hallucination_share,
    LAST_VALUE(speaker_count IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS speaker_count,
    LAST_VALUE(top_speaker_share IGNORE NULLS) OVER (PARTITION BY job_id ORDER BY updated_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS top_speaker_share,
    ROW_NUMBER() OVER (
      PARTITION BY job_id
      ORDER BY
        CASE status
          WHEN 'queued' THEN 0 WHEN 'transcribing' THEN 1 WHEN 'transcribed' THEN 2 WHEN 'summarizing' THEN 3
          WHEN 'done' THEN 4 WHEN 'failed' THEN 4 ELSE -1
        END DESC,
        updated_at
    ) AS stage
  FROM mixscribe.jobs
)
WHERE stage = 1
