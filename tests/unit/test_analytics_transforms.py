"""Analytics transforms with TestPipeline/assert_that and TestStream/equal_to_per_window."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to, equal_to_per_window
from apache_beam.transforms.window import IntervalWindow, TimestampedValue

from beam_pipelines.analytics.records import STATUS_RANK, JobFold, parse_event
from beam_pipelines.analytics.transforms import BuildJobRows, DedupeEvents, HourlyStats, ParseEvents
from mixscribe.event_types import JobCompleted, JobFailed, JobNotesReady, JobQueued, JobStarted, JobTranscribed
from mixscribe.events import make_event

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
BATCH = ["--runner=apache_beam.runners.portability.fn_api_runner.FnApiRunner"]


def job_events(job: str, start: datetime, owner: str = "alice", fail: bool = False) -> list[bytes]:
    """The events of one job, as published (bytes)."""

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    events = [
        make_event(JobQueued(owner=owner, options={"model": "tiny.en", "language": "auto"}), job, "t", now=at(0)),
        make_event(JobStarted(attempt=1), job, "t", "1", now=at(2)),
    ]
    if fail:
        events.append(make_event(JobFailed(code="corrupt_audio"), job, "t", now=at(3)))
    else:
        events += [
            make_event(
                JobTranscribed(duration_s=360.0, word_count=50, loudness_lufs=-20.0, real_time_factor=0.2, speech_ratio=0.9),
                job,
                "t",
                now=at(10),
            ),
            make_event(
                JobNotesReady(generator="llm", usage={"prompt_tokens": 10, "completion_tokens": 5}, cost_usd=0.001),
                job,
                "t",
                now=at(12),
            ),
            make_event(JobCompleted(status="done"), job, "t", now=at(13)),
        ]
    return [e.to_json() for e in events]


def test_parse_sends_bad_records_to_the_dead_letter_output():
    good = job_events("j1", T0)
    bad = [
        b"{not json",
        json.dumps(
            {"event_id": "e", "type": "nope", "job_id": "j", "source": "s", "schema_version": 1, "occurred_at": T0.isoformat()}
        ).encode(),
        b"[]",
        json.dumps(
            {"event_id": "e", "type": "job.queued", "job_id": "j", "source": "s", "schema_version": 1, "occurred_at": "yesterday"}
        ).encode(),
    ]
    with TestPipeline(argv=BATCH) as p:
        parsed = p | beam.Create(good + bad) | ParseEvents()
        assert_that(
            parsed.events | beam.Map(lambda e: e["type"]),
            equal_to(["job.queued", "job.started", "job.transcribed", "job.notes_ready", "job.completed"]),
        )
        errors = parsed.dead_letter | beam.Map(lambda d: d["error"].split(":")[0].split(" ")[0])
        assert_that(errors, equal_to(["not", "unknown", "an", "occurred_at"]), label="dead letters")


@pytest.mark.parametrize("streaming", [True, False])
def test_dedupe_keeps_one_copy_of_each_event_id(streaming):
    events = [parse_event(e) for e in job_events("j1", T0)]
    with TestPipeline(argv=BATCH) as p:
        out = p | beam.Create(events * 3) | DedupeEvents(streaming=streaming) | beam.Map(lambda e: e["event_id"])
        assert_that(out, equal_to([e["event_id"] for e in events]))


def test_job_fold_is_order_independent_and_idempotent():
    events = [parse_event(e) for e in job_events("j1", T0)]
    rows = []
    for seed in range(5):
        shuffled = events * 2
        random.Random(seed).shuffle(shuffled)
        half = len(shuffled) // 2
        left, right = JobFold(), JobFold()
        for e in shuffled[:half]:
            left.add(e)
        for e in shuffled[half:]:
            right.add(e)
        rows.append(left.merge(right).row())
    assert all(row == rows[0] for row in rows)
    row = rows[0]
    assert (row["status"], row["owner"], row["model"], row["attempts"]) == ("done", "alice", "tiny.en", 1)
    assert (row["queue_s"], row["transcribe_s"], row["notes_s"], row["total_s"]) == (2.0, 8.0, 3.0, 13.0)
    assert (row["audio_duration_s"], row["notes_generator"], row["llm_cost_usd"]) == (360.0, "llm", 0.001)


def test_failed_jobs_keep_their_code_and_never_become_done():
    fold = JobFold()
    for e in job_events("j2", T0, fail=True):
        fold.add(parse_event(e))
    assert (fold.row()["status"], fold.row()["error_code"]) == ("failed", "corrupt_audio")


def test_build_job_rows_ends_with_the_complete_row():
    events = [parse_event(e) for e in job_events("j1", T0) + job_events("j2", T0, fail=True)]
    with TestPipeline(argv=BATCH) as p:
        rows = p | beam.Create(events) | BuildJobRows()
        final = (
            rows
            | beam.Map(lambda r: (r["job_id"], r))
            | beam.CombinePerKey(lambda rs: max(rs, key=lambda r: r["updated_at"]))
            | beam.Map(lambda kv: (kv[0], kv[1]["status"], kv[1]["total_s"]))
        )
        assert_that(final, equal_to([("j1", "done", 13.0), ("j2", "failed", 3.0)]))


def _finished_row(job: str, completed: datetime, owner: str = "alice", status: str = "done") -> dict:
    fold = JobFold()
    for e in job_events(job, completed - timedelta(seconds=13), owner, fail=status == "failed"):
        fold.add(parse_event(e))
    return fold.row()


def test_hourly_windows_with_late_and_duplicate_rows():
    options = PipelineOptions(["--runner=apache_beam.runners.direct.direct_runner.BundleBasedDirectRunner"])
    options.view_as(StandardOptions).streaming = True
    r1 = _finished_row("j1", T0 + timedelta(minutes=5))
    r2 = _finished_row("j2", T0 + timedelta(minutes=20), status="failed")
    r3 = _finished_row("j3", T0 + timedelta(minutes=70), owner="edge:ag06")
    late = _finished_row("j4", T0 + timedelta(minutes=30))

    def ts(row):
        return TimestampedValue(row, row["updated_at"].timestamp())

    stream = (
        TestStream()
        .add_elements([ts(r1), ts(r2), ts(r1)])  # r1 twice: counted once
        .add_elements([ts(r3)])
        .advance_watermark_to((T0 + timedelta(hours=2)).timestamp())
        .add_elements([ts(late)])  # hour 9 is closed by now: a late pane updates it
        .advance_watermark_to_infinity()
    )
    hour9 = IntervalWindow(T0.timestamp(), (T0 + timedelta(hours=1)).timestamp())
    hour10 = IntervalWindow((T0 + timedelta(hours=1)).timestamp(), (T0 + timedelta(hours=2)).timestamp())
    with TestPipeline(options=options) as p:
        stats = (
            p
            | stream
            | HourlyStats(streaming=True)
            | beam.Map(lambda s: (s["dimension"], s["key"], s["jobs"], s["failed"], s["audio_hours"]))
        )
        assert_that(
            stats,
            equal_to_per_window(
                {
                    hour9: [("owner", "alice", 2, 1, 0.1), ("owner", "alice", 3, 1, 0.2)],  # on time, then late pane
                    hour10: [("owner", "edge:ag06", 1, 0, 0.1), ("device", "ag06", 1, 0, 0.1)],
                }
            ),
            reify_windows=True,
        )


def test_of_two_terminal_events_the_first_reached_wins_in_any_arrival_order():
    failed = parse_event(make_event(JobFailed(code="retries_exhausted"), "j9", "t", now=T0 + timedelta(seconds=5)).to_json())
    completed = parse_event(make_event(JobCompleted(status="done"), "j9", "t", now=T0 + timedelta(seconds=9)).to_json())
    queued = parse_event(job_events("j9", T0)[0])
    for order in ([queued, failed, completed], [completed, queued, failed], [failed, completed, queued]):
        fold = JobFold()
        for event in order:
            fold.add(event)
        assert fold.status == "failed"
        left, right = JobFold(), JobFold()
        left.add(order[0])
        for event in order[1:]:
            right.add(event)
        assert left.merge(right).status == right.merge(left).status == "failed"
    assert STATUS_RANK["summarizing"] == STATUS_RANK["transcribed"] + 1
