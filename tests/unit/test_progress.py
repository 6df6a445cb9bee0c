"""Live progress: the tracker's throttle, the sum over pieces, the stored shape, and the use case on fakes
recording it on the job while the real model runs."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from mixscribe import layout
from mixscribe.config import Settings
from mixscribe.jobs import Job, JobOptions, JobStatus, SourceObject
from mixscribe.progress import PieceProgress, ProgressTracker, partial_segments, public_progress, summarize
from mixscribe.store import JobStore, utcnow
from mixscribe.transcript import Segment
from mixscribe.transcription import Transcription
from mixscribe.transcription.engine import ModelCache
from mixscribe.transcription.outcome import Outcome, TaskIdentity
from mixscribe.work_requests import TranscriptionRequest
from tests.conftest import SAMPLE
from tests.fakes import FakeBlobs, FakeDocuments, FakeEventSink, FakePublisher


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def segment(start: float, end: float, text: str) -> Segment:
    return Segment(id=0, start=start, end=end, text=text)


def test_the_tracker_records_at_most_once_per_interval_with_the_files_times():
    clock, written = FakeClock(), []

    def record(piece, state):
        written.append((piece, clock.now, state.done_s))

    tracker = ProgressTracker(record, 2, 60.0, 120.0, 3.0, True, clock)
    heard = tracker.listener()
    for second in range(1, 21):  # a segment every simulated second
        clock.now += 1
        heard(segment(second - 1, second, f" word {second} "))
    assert [at for _, at, _ in written] == [1003.0, 1006.0, 1009.0, 1012.0, 1015.0, 1018.0]  # never twice in 3 s
    assert [piece for piece, _, _ in written] == [2] * 6 and written[-1][2] == 18.0
    assert tracker.state.segments[0].start == 120.0 and tracker.state.segments[0].text == "word 1"  # file times, stripped
    assert tracker.writes == 6


def test_a_tracker_without_live_text_records_figures_only_and_channels_count_apiece():
    clock = FakeClock()
    tracker = ProgressTracker(lambda *_: None, 0, 20.0, 0.0, 3.0, False, clock)
    tracker.listener(0, 10.0, "host")(segment(0, 9.5, "secret name"))
    tracker.listener(1, 10.0, "guest")(segment(0, 4.0, "more"))
    assert tracker.state.done_s == 14.0 and tracker.state.segments == []


def test_summary_adds_pieces_side_by_side_and_takes_the_slowest_eta():
    pieces = {
        "0": PieceProgress(done_s=30, total_s=60, started_at=0, updated_at=10),  # 3x, 10 s left
        "1": PieceProgress(done_s=10, total_s=60, started_at=0, updated_at=10),  # 1x, 50 s left
    }
    figures = summarize(pieces, audio_s=110)
    assert figures["percent"] == pytest.approx(33.3) and figures["done_s"] == pytest.approx(36.67, abs=0.01)
    assert figures["total_s"] == 110 and figures["speed_x"] == 4.0 and figures["eta_s"] == 50.0
    assert isinstance(figures["updated_at"], datetime)
    assert summarize({"0": PieceProgress(0, 60, 5, 5)}, 60)["eta_s"] is None  # no speed measured yet


def test_partial_segments_come_in_time_order_with_stable_keys_and_the_api_shows_figures_only():
    figures = {"done_s": 5, "total_s": 9, "started_at": 0, "updated_at": 1}
    stored = {
        "percent": 50.0,
        "updated_at": utcnow(),
        "pieces": {
            "1": {**figures, "segments": [{"start": 60, "end": 62, "text": "b"}]},
            "0": {**figures, "segments": [{"start": 1, "end": 2, "text": "a"}]},
        },
    }
    assert [(key, s.text) for key, s in partial_segments(stored)] == [("0.0", "a"), ("1.0", "b")]
    shown = public_progress(stored)
    assert shown is not None and "pieces" not in shown and isinstance(shown["updated_at"], str)
    assert public_progress(None) is None


class CountingDocuments(FakeDocuments):
    """Fake documents that note each write of a job's ``progress`` (wall time, the figures)."""

    def __init__(self) -> None:
        super().__init__()
        self.progress_writes: list[dict] = []

    def compare_and_set(self, path, decide):
        def noting(current):
            values = decide(current)
            if values and values.get("progress") and "pieces" in values["progress"]:
                self.progress_writes.append(values["progress"])
            return values

        return super().compare_and_set(path, noting)


@pytest.mark.parametrize("redact", [False, True])
def test_the_use_case_records_progress_on_the_job_while_the_model_runs(redact: bool):
    settings = Settings.from_env({}, upload_bucket="uploads", results_bucket="results", progress_interval_s=0.5)
    documents, blobs = CountingDocuments(), FakeBlobs()
    store = JobStore(documents)
    generation = blobs.put("uploads", "users/alice/meeting.flac", SAMPLE.read_bytes(), "audio/flac")
    source = SourceObject("uploads", "users/alice/meeting.flac", generation, SAMPLE.stat().st_size, "audio/flac")
    options = JobOptions(model="tiny.en", notes=False, redact=("PERSON",) if redact else ())
    job, _ = store.create(Job.new(source, options, utcnow(), 1))
    request = TranscriptionRequest(job.job_id, "uploads", source.name, generation, options)
    task = TaskIdentity(0, 1, 0, "unit-exec")
    pipeline = Transcription(settings, store, blobs, FakePublisher(), FakeEventSink(), ModelCache(settings), task, max_attempts=3)
    assert pipeline.process(request.to_json()) is Outcome.DONE

    writes = documents.progress_writes
    assert writes, "a 17 s file on 2 cores takes longer than one 0.5 s interval"
    times = [w["updated_at"].timestamp() for w in writes]
    assert all(b - a >= 0.5 for a, b in zip(times, times[1:]))  # the throttle holds on the job document
    percents = [w["percent"] for w in writes]
    assert percents == sorted(percents) and 0 < percents[-1] <= 100
    duration = json.loads(blobs.read("results", layout.metrics_path(job.job_id)))["duration_s"]
    assert all(w["total_s"] == pytest.approx(duration, abs=0.01) for w in writes)
    partial = [s["text"] for s in writes[-1]["pieces"]["0"]["segments"]]
    if redact:
        assert partial == []  # nothing shown before redaction could remove it
    else:
        final = json.loads(blobs.read("results", layout.transcript_path(job.job_id, "json")))
        assert partial and partial == [s["text"] for s in final["segments"]][: len(partial)]
    done = store.get(job.job_id)
    assert done is not None and done.status is JobStatus.DONE
    stored = done.progress or {}
    assert stored["percent"] == 100.0 and "pieces" not in stored  # the partial text is gone with the end
