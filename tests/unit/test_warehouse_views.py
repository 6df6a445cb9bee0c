"""The views' SQL kept to the declarations it restates: every column of the tables, the lifecycle's ranks."""

from __future__ import annotations

import re

from beam_pipelines.analytics.records import STATUS_RANK
from mixscribe.warehouse import HOURLY, JOBS, JOBS_CURRENT, VIEWS


def test_jobs_current_carries_every_jobs_column_once():
    sql = JOBS_CURRENT.sql
    for column in JOBS.columns:
        if column.name not in ("job_id", "status"):
            assert len(re.findall(rf"\bAS {column.name}\b", sql)) == 1, column.name


def test_jobs_current_ranks_statuses_as_the_lifecycle_does():
    ranks = dict(re.findall(r"WHEN '(\w+)' THEN (\d+)", JOBS_CURRENT.sql))
    assert {status: int(rank) for status, rank in ranks.items()} == STATUS_RANK


def test_views_read_the_tables_and_avoid_clauses_whose_place_bigquery_and_duckdb_order_differently():
    for view in VIEWS:
        body = re.sub(r"--[^\n]*", "", view.sql)
        assert "mixscribe." in body and not re.search(r"\b(QUALIFY|WINDOW)\b", body), view.name
    assert f"mixscribe.{HOURLY.name}" in next(v for v in VIEWS if v.name == "job_stats_hourly_current").sql
