"""The transcription use case on the ports' fakes: the real engine (bundled tiny.en), no emulator."""

from __future__ import annotations

import json

from mixscribe import layout
from mixscribe.config import Settings
from mixscribe.jobs import Job, JobOptions, JobStatus, SourceObject
from mixscribe.store import JobStore, utcnow
from mixscribe.transcription import Transcription
from mixscribe.transcription.engine import ModelCache
from mixscribe.transcription.outcome import Outcome, TaskIdentity
from mixscribe.work_requests import TranscriptionRequest
from tests.conftest import SAMPLE
from tests.fakes import FakeBlobs, FakeDocuments, FakeEventSink, FakePublisher

SETTINGS = Settings.from_env({}, upload_bucket="uploads", results_bucket="results")


def test_a_request_is_claimed_once_transcribed_and_finished_with_every_output():
    documents, blobs, publisher, events = FakeDocuments(), FakeBlobs(), FakePublisher(), FakeEventSink()
    store = JobStore(documents)
    generation = blobs.put("uploads", "users/alice/meeting.flac", SAMPLE.read_bytes(), "audio/flac")
    source = SourceObject("uploads", "users/alice/meeting.flac", generation, SAMPLE.stat().st_size, "audio/flac")
    options = JobOptions(model="tiny.en", notes=True)
    job, _ = store.create(Job.new(source, options, utcnow(), 1))
    request = TranscriptionRequest(job.job_id, "uploads", source.name, generation, options)
    task = TaskIdentity(0, 1, 0, "unit-exec")
    pipeline = Transcription(SETTINGS, store, blobs, publisher, events, ModelCache(SETTINGS), task, max_attempts=3)

    assert pipeline.process(request.to_json()) is Outcome.DONE
    stored = store.get(job.job_id)
    assert stored is not None and stored.status is JobStatus.TRANSCRIBED and stored.attempts == 1
    assert set(stored.outputs) == {"json", "srt", "vtt", "txt", "metrics"}
    transcript = json.loads(blobs.read("results", layout.transcript_path(job.job_id, "json")))
    assert "planning meeting" in " ".join(s["text"] for s in transcript["segments"]).lower()
    metrics = json.loads(blobs.read("results", layout.metrics_path(job.job_id)))
    assert set(metrics["timings"]) >= {"download_s", "decode_s", "transcribe_s", "write_s", "total_s"}
    assert metrics["hallucinations"] == {"repetition_flagged": 0, "over_silence_dropped": 0}  # a clean recording
    assert events.types(job.job_id) == ["job.started", "job.transcribed"]
    notes_topic = SETTINGS.topic_path(SETTINGS.notes_topic)
    assert [json.loads(data)["job_id"] for topic, data, _ in publisher.messages if topic == notes_topic] == [job.job_id]

    assert pipeline.process(request.to_json()) is Outcome.DONE  # a redelivery: no second attempt
    assert store.get(job.job_id).attempts == 1 and events.types(job.job_id) == ["job.started", "job.transcribed"]


def test_a_deleted_upload_fails_its_job_as_source_missing():
    documents, blobs, events = FakeDocuments(), FakeBlobs(), FakeEventSink()
    store = JobStore(documents)
    source = SourceObject("uploads", "users/alice/gone.flac", 3, 1000, "audio/flac")
    options = JobOptions(model="tiny.en", notes=False)
    job, _ = store.create(Job.new(source, options, utcnow(), 1))
    request = TranscriptionRequest(job.job_id, "uploads", source.name, 3, options)
    pipeline = Transcription(
        SETTINGS, store, blobs, FakePublisher(), events, ModelCache(SETTINGS), TaskIdentity(0, 1, 0, "unit"), max_attempts=3
    )
    assert pipeline.process(request.to_json()) is Outcome.DONE
    failed = store.get(job.job_id)
    assert failed is not None and failed.status is JobStatus.FAILED and (failed.error or {})["code"] == "source_missing"
    assert events.types(job.job_id) == ["job.started", "job.failed"]
