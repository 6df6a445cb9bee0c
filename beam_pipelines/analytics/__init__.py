"""Analytics: lifecycle events from Pub/Sub (or the results bucket) into BigQuery, or DuckDB locally."""
