-- Each lifecycle event once. The pipeline deduplicates by event_id for an hour; a redelivery after that,
-- or a retried write, appends a second copy, which this view drops (the copies are the same event).
SELECT * EXCEPT (copy)
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY ingested_at) AS copy
  FROM mixscribe.events
)
WHERE copy = 1
