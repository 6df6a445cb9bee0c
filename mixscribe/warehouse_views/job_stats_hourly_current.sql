-- One row per hour and owner or device: the latest pane. The pipeline fires early, on-time and late panes
-- for each hour (accumulating: each pane holds the whole hour so far) and the sink appends every one.
SELECT * EXCEPT (pane)
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, dimension, key ORDER BY updated_at DESC) AS pane
  FROM mixscribe.job_stats_hourly
)
WHERE pane = 1
