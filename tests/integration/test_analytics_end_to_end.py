"""Events from real jobs on the local stack reach BigQuery (the stack's emulator) through the streaming
pipeline, run from the Flex Template image's files alone; the example queries, through
google-cloud-bigquery as an analyst runs them, return the expected numbers for a known set of jobs;
the batch backfill, from the same template, rebuilds rows from the results bucket."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from artifacts.flex_template import assemble_template, launch
from beam_pipelines.analytics.report import run_named, run_sql
from tests.conftest import REPO, SAMPLE, bigquery_for

SUBSCRIPTION = "tests-analytics"
PROJECT = "analytics-e2e"  # a project of its own on the stack's BigQuery emulator


def from_template(stack, template, *parameters: str) -> tuple[list[str], dict[str, str]]:
    """The template's launcher, with the stack's environment and nothing of the repository importable."""
    return launch(template, list(parameters), {**os.environ, **stack.env})


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return assemble_template(REPO, tmp_path_factory.mktemp("flex") / "template")


@pytest.fixture(scope="module")
def bq(stack):
    return bigquery_for(stack.env, PROJECT)


@pytest.fixture(scope="module")
def known_jobs(stack, audio_dir, tmp_path_factory, template, bq):
    """Four uploads (two good, two bad) read by a streaming pipeline from a fresh subscription."""
    from google.cloud import pubsub_v1

    project = stack.env["GOOGLE_CLOUD_PROJECT"]
    pubsub_v1.SubscriberClient().create_subscription(
        request={
            "name": f"projects/{project}/subscriptions/{SUBSCRIPTION}",
            "topic": f"projects/{project}/topics/mixscribe-events",
        }
    )
    log = open(tmp_path_factory.mktemp("beam") / "beam.log", "w")
    argv, env = from_template(
        stack,
        template,
        "--mode=streaming",
        f"--subscription=projects/{project}/subscriptions/{SUBSCRIPTION}",
        f"--bigquery_dataset={PROJECT}:mixscribe",
    )
    proc = subprocess.Popen(
        argv,
        cwd=template,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        uploads = [
            (SAMPLE, "users/fay/a.flac", None, None),
            (SAMPLE, "users/fay/b.flac", None, {"notes": "false"}),
            (audio_dir / "corrupt.flac", "users/fay/c.flac", "audio/flac", None),
            (audio_dir / "text.wav", "users/fay/d.wav", "audio/wav", None),
        ]
        job_ids = [stack.upload(*u)[1] for u in uploads]
        docs = [stack.wait(j) for j in job_ids]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            _, rows = run_sql(bq, "SELECT count(*) FROM mixscribe.jobs_current WHERE status IN ('done', 'failed')")
            if rows[0][0] == 4:
                break
            time.sleep(0.5)
        yield bq, docs
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_jobs_rows_match_the_jobs(known_jobs):
    bq, docs = known_jobs
    _, rows = run_sql(
        bq, "SELECT job_id, status, error_code, owner, audio_duration_s, attempts FROM mixscribe.jobs_current ORDER BY job_id"
    )
    expected = sorted(
        (
            d["job_id"],
            d["status"],
            (d.get("error") or {}).get("code"),
            "fay",
            d.get("metrics", {}).get("duration_s"),
            d["attempts"],
        )
        for d in docs
    )
    assert rows == expected
    _, events = run_sql(bq, "SELECT count(*), count(DISTINCT event_id) FROM mixscribe.events_unique")
    assert events[0][0] == events[0][1] >= 4 + 2 * 3  # every event once
    _, appended = run_sql(bq, "SELECT count(*) FROM mixscribe.jobs")
    assert appended[0][0] > len(docs)  # append-only: a row per state change, read through jobs_current


def test_example_queries_give_the_expected_numbers(known_jobs):
    bq, docs = known_jobs
    _, volume = run_named(bq, "daily_volume")
    assert [(r[1], r[2], r[3], r[4]) for r in volume] == [(4, 2, 2, 0.5)]
    assert volume[0][5] == pytest.approx(2 * 8.401 / 3600, abs=1e-5)
    _, reasons = run_named(bq, "failure_reasons")
    assert reasons == [("corrupt_audio", 1, 0.5), ("unsupported_format", 1, 0.5)]
    _, latency = run_named(bq, "latency_percentiles")
    assert latency[0][1] == 2 and 0 < latency[0][2] <= latency[0][3] <= latency[0][4] < 120
    _, loudness = run_named(bq, "loudness_by_device")
    assert loudness[0][:3] == ("(uploads)", 2, -21.24)
    _, cost = run_named(bq, "cost_per_audio_hour")
    by_generator = {r[0]: r for r in cost}
    llm_cost = sum((d.get("notes") or {}).get("cost_usd") or 0 for d in docs)
    assert by_generator["llm"][1] == 1 and by_generator["llm"][3] == pytest.approx(llm_cost, abs=1e-6)
    assert by_generator["(none)"][1] == 1  # notes=false


def test_hourly_stats_count_the_finished_jobs(known_jobs):
    bq, _ = known_jobs
    deadline = time.monotonic() + 60  # the on-time pane waits for the watermark; early panes come every 30 s
    rows: list[tuple] = []
    while time.monotonic() < deadline:
        _, rows = run_sql(
            bq,
            "SELECT sum(jobs), sum(failed) FROM mixscribe.job_stats_hourly_current WHERE dimension = 'owner' AND key = 'fay'",
        )
        if rows and rows[0][0] == 4:
            break
        time.sleep(1)
    assert rows == [(4, 2)]


def test_backfill_rebuilds_jobs_from_the_results_bucket(stack, known_jobs, template):
    _, docs = known_jobs
    rebuilt = bigquery_for(stack.env, "analytics-backfill")
    argv, env = from_template(
        stack,
        template,
        "--mode=backfill",
        f"--results_bucket={stack.env['MIXSCRIBE_RESULTS_BUCKET']}",
        "--bigquery_dataset=analytics-backfill:mixscribe",
    )
    proc = subprocess.run(
        argv,
        cwd=template,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics_objects = [b for b in stack.results.list_blobs(prefix="jobs/") if b.name.endswith("/metrics.json")]
    _, count = run_sql(rebuilt, "SELECT count(*) FROM mixscribe.jobs_current")
    assert count[0][0] == len(metrics_objects)
    good = [d for d in docs if d["status"] == "done"]
    _, rows = run_sql(
        rebuilt,
        "SELECT job_id, audio_duration_s, status FROM mixscribe.jobs_current WHERE job_id IN ("
        + ", ".join(f"'{d['job_id']}'" for d in good)
        + ") ORDER BY job_id",
    )
    notes_on = {d["job_id"]: "notes_json" in d["outputs"] for d in good}
    assert [(r[0], r[1], r[2]) for r in rows] == sorted(
        (d["job_id"], 8.401, "done" if notes_on[d["job_id"]] else "transcribed") for d in good
    )


def test_report_renders_a_chart_and_tables(known_jobs, tmp_path):
    from beam_pipelines.analytics.report import render

    bq, _ = known_jobs
    png, md = render(bq, tmp_path / "report")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert (tmp_path / "report" / "devices.png").stat().st_size > 10_000
    assert (tmp_path / "report" / "failures.png").stat().st_size > 10_000
    text = md.read_text()
    assert "![jobs per day](daily.png)" in text and "![recording levels per source](devices.png)" in text
    assert "| corrupt_audio | 1 | 0.5 |" in text and "## latency percentiles" in text
