"""The warehouse as BigQuery holds it: append-only tables read through views (mixscribe.warehouse), on
the BigQuery emulator through the official clients. Duplicate, out-of-order and replayed events — and the
partial rows a restarted pipeline writes — give every example query the answer of a clean run."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from beam_pipelines.analytics.pipeline import run
from beam_pipelines.analytics.records import JobFold, parse_event
from beam_pipelines.analytics.report import query_names, render, run_named
from bench.analytics_throughput import synthetic_events
from mixscribe.config import Settings
from mixscribe.event_types import JobCompleted, JobFailed, JobQueued, JobStarted, JobTranscribed
from mixscribe.events import make_event
from mixscribe.gcp.bigquery import TableWriter, write_client
from mixscribe.warehouse import JOBS
from tests.conftest import bigquery_for


def count(client, sql: str) -> int:
    return next(iter(client.query(sql).result()))[0]


def load(env, monkeypatch, project: str, lines: list[str], tmp_path, name: str) -> None:
    """``lines`` through the batch pipeline into ``project`` (the sink appends, as in BigQuery)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    path = tmp_path / f"{name}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    run(["events-file", "--events-file", str(path), "--bigquery-dataset", f"{project}:mixscribe"])


@pytest.fixture(scope="module")
def events() -> list[str]:
    lines = synthetic_events(3000, seed=11)
    return list(dict.fromkeys(lines))  # each event once (the generator duplicates 2 %)


def test_duplicate_out_of_order_and_replayed_events_give_the_answers_of_a_clean_run(bigquery_api, monkeypatch, tmp_path, events):
    clean, messy = bigquery_for(bigquery_api, "clean"), bigquery_for(bigquery_api, "messy")
    load(bigquery_api, monkeypatch, "clean", events, tmp_path, "clean")
    rng = random.Random(3)
    shuffled = [line for line in events for _ in range(rng.choice((1, 2, 3)))]
    rng.shuffle(shuffled)
    load(bigquery_api, monkeypatch, "messy", shuffled, tmp_path, "messy")
    load(bigquery_api, monkeypatch, "messy", shuffled, tmp_path, "replay")  # a replay: every row appended again
    # a restarted pipeline folds only what it sees again: late redeliveries of some jobs' first events
    late = [line for line in events if json.loads(line)["type"] in ("job.queued", "job.started") and rng.random() < 0.3]
    load(bigquery_api, monkeypatch, "messy", late, tmp_path, "late")

    jobs = len({json.loads(line)["job_id"] for line in events})
    assert count(clean, "SELECT COUNT(*) FROM mixscribe.jobs") == jobs
    assert count(messy, "SELECT COUNT(*) FROM mixscribe.jobs") > 2 * jobs  # the table holds every append
    assert count(messy, "SELECT COUNT(*) FROM mixscribe.jobs_current") == jobs
    assert count(messy, "SELECT COUNT(DISTINCT job_id) FROM mixscribe.jobs_current") == jobs
    assert count(messy, "SELECT COUNT(*) FROM mixscribe.events") == 2 * len(events) + len(late)
    assert count(messy, "SELECT COUNT(*) FROM mixscribe.events_unique") == len(events)
    hourly = "SELECT COUNT(*) FROM mixscribe.job_stats_hourly_current"
    assert count(messy, hourly) == count(clean, hourly) > 0
    assert count(messy, "SELECT COUNT(*) FROM mixscribe.job_stats_hourly") > count(clean, hourly)
    for name in query_names():
        expected = run_named(clean, name)
        assert run_named(messy, name) == expected, name
    _, volume = run_named(clean, "daily_volume")
    # every job counted once; all finished but the generator's last, cut off mid-way
    assert sum(r[1] for r in volume) == jobs and sum(r[2] + r[3] for r in volume) == jobs - 1


def test_the_current_row_takes_the_latest_stage_and_every_column_s_latest_value(bigquery_api):
    """Rows as a restarted pipeline writes them: the later one knows less; the view keeps what each knew."""
    client = bigquery_for(bigquery_api, "partial")
    settings = Settings.from_env({**bigquery_api, "GOOGLE_CLOUD_PROJECT": "partial"})
    writer = TableWriter(write_client(settings), "partial", JOBS)
    job = "b" * 32
    full, late = JobFold(), JobFold()
    for event in arm_events(job, "t:treatment", "base", 0.2, -0.3, 0.0, failed=False):
        full.add(event)
    late.add(arm_events(job, "t:treatment", "base", 0.2, -0.3, 0.0, failed=False)[1])  # job.started, redelivered
    assert writer.append([full.row(), late.row(), full.row()]) == 3
    rows = [dict(r) for r in client.query(f"SELECT * FROM mixscribe.jobs_current WHERE job_id = '{job}'").result()]
    assert len(rows) == 1
    row, expected = rows[0], full.row()
    assert {k: row[k] for k in ("status", "owner", "model", "arm", "created_at", "total_s", "audio_duration_s")} == {
        k: expected[k] for k in ("status", "owner", "model", "arm", "created_at", "total_s", "audio_duration_s")
    }


def arm_events(job: str, arm: str, model: str, rtf: float, logprob: float, share: float, failed: bool) -> list[dict]:
    start = datetime(2026, 11, 20, 10, tzinfo=UTC)

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    events = [
        make_event(JobQueued(owner=job, options={"model": model, "priority": "normal", "arm": arm}), job, "t", now=at(0)),
        make_event(JobStarted(attempt=1), job, "t", "1", now=at(1)),
    ]
    if failed:
        events.append(make_event(JobFailed(code="corrupt_audio"), job, "t", now=at(2)))
    else:
        transcribed = JobTranscribed(
            duration_s=600.0, real_time_factor=rtf, model=model, arm=arm, avg_logprob=logprob, hallucination_share=share
        )
        events += [make_event(transcribed, job, "t", now=at(3)), make_event(JobCompleted("done"), job, "t", now=at(4))]
    return [parse_event(e.to_json()) for e in events]


def test_the_comparison_query_and_the_report_panels_show_both_arms(bigquery_api, tmp_path):
    client = bigquery_for(bigquery_api, "arms")
    settings = Settings.from_env({**bigquery_api, "GOOGLE_CLOUD_PROJECT": "arms"})
    rows = []
    for k in range(10):
        treatment = k % 2 == 0
        arm, model = ("trial:treatment", "base") if treatment else ("trial:control", "tiny.en")
        fold = JobFold(f"j{k:031x}")
        for event in arm_events(
            fold.job_id, arm, model, 0.2 if treatment else 0.1, -0.2 if treatment else -0.4, 0.0, failed=k == 9
        ):
            fold.add(event)
        rows.append(fold.row())
    TableWriter(write_client(settings), "arms", JOBS).append(rows)
    columns, result = run_named(client, "rollout_arms")
    table = {r[0]: dict(zip(columns, r)) for r in result}
    assert set(table) == {"trial:control", "trial:treatment"}
    assert (table["trial:treatment"]["model"], table["trial:treatment"]["jobs"]) == ("base", 5)
    assert table["trial:treatment"]["mean_logprob"] == -0.2 and table["trial:control"]["failure_rate"] == 0.2
    # cost: 0.2 model-hours per audio hour on the L4 task ($1.0465/h)
    assert table["trial:treatment"]["usd_per_audio_hour"] == round(0.2 * 1.0465, 4)
    _, md = render(client, tmp_path / "report")
    assert (tmp_path / "report" / "arms.png").stat().st_size > 1000 and "rollout arms" in md.read_text()
    assert (tmp_path / "report" / "failures.png").stat().st_size > 1000 and "| corrupt_audio | 1 | 1.0 |" in md.read_text()


def test_a_row_that_cannot_be_written_is_left_out_with_its_reason_and_the_rest_is_written(bigquery_api, caplog):
    client = bigquery_for(bigquery_api, "refused")
    settings = Settings.from_env({**bigquery_api, "GOOGLE_CLOUD_PROJECT": "refused"})
    writer = TableWriter(write_client(settings), "refused", JOBS)
    good = arm_events("c" * 32, "t:control", "tiny.en", 0.1, -0.3, 0.0, failed=False)
    fold = JobFold()
    for event in good:
        fold.add(event)
    no_time = {**fold.row(), "job_id": "d" * 32, "updated_at": None}  # a required column empty
    wrong_type = {**fold.row(), "job_id": "e" * 32, "word_count": "many"}
    with caplog.at_level("ERROR"):
        assert writer.append([no_time, fold.row(), wrong_type]) == 1
    assert count(client, "SELECT COUNT(*) FROM mixscribe.jobs") == 1
    reasons = [r.json_fields["reason"] for r in caplog.records if hasattr(r, "json_fields")]
    assert any("updated_at is required" in r for r in reasons) and len(reasons) == 2
