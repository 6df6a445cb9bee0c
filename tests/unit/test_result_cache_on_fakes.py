"""The result cache on the ports' fakes: the same owner's same bytes reuse a transcript, nobody else's do."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mixscribe import layout
from mixscribe.config import Settings
from mixscribe.event_types import JobTranscribed
from mixscribe.intake import Intake
from mixscribe.jobs import Job, JobOptions, JobStatus, SourceObject
from mixscribe.notifications import StorageObjectData
from mixscribe.store import JobStore, utcnow
from mixscribe.transcript_cache import TranscriptCache
from mixscribe.transcription import ModelCache, Outcome, TaskIdentity, Transcription
from tests.conftest import SAMPLE
from tests.fakes import FakeBlobs, FakeDocuments, FakeEventSink, FakePublisher

SETTINGS = Settings.from_env({}, upload_bucket="uploads", results_bucket="results")


def test_a_reupload_reuses_the_transcript_per_owner_until_the_first_job_is_deleted():
    documents, blobs, publisher, events = FakeDocuments(), FakeBlobs(), FakePublisher(), FakeEventSink()
    store = JobStore(documents)
    cache = TranscriptCache(documents, blobs, SETTINGS)
    intake = Intake(SETTINGS, store, blobs, publisher, events, dispatcher=None, cache=cache)
    worker = Transcription(SETTINGS, store, blobs, publisher, events, ModelCache(SETTINGS), TaskIdentity(0, 1, 0, "u"), 3)
    body = SAMPLE.read_bytes()
    md5 = hashlib.md5(body).hexdigest()

    def upload(name: str) -> Job:
        generation = blobs.put("uploads", name, body, "audio/flac")
        source = SourceObject("uploads", name, generation, len(body), "audio/flac", md5=md5)
        job = intake.handle(StorageObjectData(source, {"notes": "false"}))
        assert job is not None
        return job

    first = upload("users/alice/monday.flac")
    topic, data, _ = publisher.messages[-1]
    assert worker.process(data) is Outcome.DONE and store.get(first.job_id).status is JobStatus.DONE
    requests = len(publisher.messages)

    again = upload("users/alice/monday-copy.flac")  # the same bytes and options, another name
    assert again.status is JobStatus.DONE and again.cache_hit == {"job_id": first.job_id}
    assert len(publisher.messages) == requests  # no transcription request: no model ran
    assert events.types(again.job_id) == ["job.queued", "job.transcribed", "job.completed"]
    transcribed = events.events[-2].body()
    assert isinstance(transcribed, JobTranscribed) and transcribed.cache_hit is True
    copied = json.loads(blobs.read("results", layout.transcript_path(again.job_id, "json")))
    original = json.loads(blobs.read("results", layout.transcript_path(first.job_id, "json")))
    assert copied["job_id"] == again.job_id and copied["segments"] == original["segments"]
    assert set(again.outputs) == {"json", "srt", "vtt", "txt", "metrics"}

    other = upload("users/bob/monday.flac")  # the same bytes, another owner: never shared
    assert other.status is JobStatus.QUEUED and other.cache_hit is None and len(publisher.messages) == requests + 1

    cache.forget(first)  # what deleting the first job does (the API's delete)
    third = upload("users/alice/monday-third.flac")
    assert third.status is JobStatus.QUEUED and third.cache_hit is None


def test_no_checksum_no_cache_and_other_options_miss():
    cache = TranscriptCache(FakeDocuments(), FakeBlobs(), SETTINGS)

    def job(md5: str, language: str = "auto", **options: Any) -> Job:
        source = SourceObject("uploads", "users/alice/a.flac", 1, 10, "audio/flac", md5=md5)
        return Job.new(source, JobOptions(model="tiny.en", language=language, **options), utcnow(), 1)

    assert cache.key_for(job("")) is None
    assert cache.key_for(job("abc")) != cache.key_for(job("abc", language="en"))
    # a diarized job is no answer to a plain one (nor the other way round), nor another speaker count
    assert cache.key_for(job("abc")) != cache.key_for(job("abc", diarize=True))
    assert cache.key_for(job("abc", diarize=True)) != cache.key_for(job("abc", diarize=True, speakers=2))
    assert cache.key_for(job("abc", redact=("PERSON",))) is None  # redacted jobs are not cached
    assert cache.reuse(job("abc")) is None  # nothing remembered yet
