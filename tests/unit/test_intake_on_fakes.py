"""Intake (``functions/on_upload``'s use case) on the ports' fakes: no emulator, no network."""

from __future__ import annotations

import json

from mixscribe.config import Settings
from mixscribe.intake import Intake
from mixscribe.jobs import JobStatus, SourceObject
from mixscribe.notifications import StorageObjectData
from mixscribe.store import JobStore
from tests.conftest import SAMPLE
from tests.fakes import FakeBlobs, FakeDocuments, FakeEventSink, FakePublisher

SETTINGS = Settings.from_env({}, upload_bucket="uploads", results_bucket="results")


def intake() -> tuple[Intake, FakeBlobs, FakePublisher, FakeEventSink]:
    blobs, publisher, events = FakeBlobs(), FakePublisher(), FakeEventSink()
    return Intake(SETTINGS, JobStore(FakeDocuments()), blobs, publisher, events, dispatcher=None), blobs, publisher, events


def upload(blobs: FakeBlobs, name: str, body: bytes, content_type: str, metadata: dict | None = None) -> StorageObjectData:
    generation = blobs.put("uploads", name, body, content_type)
    return StorageObjectData(SourceObject("uploads", name, generation, len(body), content_type), metadata or {})


def test_an_upload_becomes_one_queued_job_one_request_and_one_queued_event_however_often_delivered():
    use_case, blobs, publisher, events = intake()
    obj = upload(blobs, "users/alice/meeting.flac", SAMPLE.read_bytes(), "audio/flac", {"notes": "false"})
    jobs = [use_case.handle(obj) for _ in range(3)]
    assert {j.job_id for j in jobs if j} == {jobs[0].job_id} and jobs[0].status is JobStatus.QUEUED
    assert (jobs[0].probe or {})["duration_s"] > 8 and jobs[0].options.notes is False
    assert len(publisher.messages) == 1
    topic, data, attributes = publisher.messages[0]
    request = json.loads(data)
    assert topic == SETTINGS.request_topic("normal") and attributes["job_id"] == jobs[0].job_id
    assert (request["bucket"], request["name"], request["generation"]) == ("uploads", obj.source.name, obj.source.generation)
    assert events.types(jobs[0].job_id) == ["job.queued"]
    assert use_case.store.get(jobs[0].job_id).published_at is not None


def test_bad_uploads_fail_with_their_code_and_publish_nothing():
    use_case, blobs, publisher, events = intake()
    text = upload(blobs, "users/bob/notes.wav", b"just some text, not audio at all", "audio/wav")
    options = upload(blobs, "users/bob/big.flac", SAMPLE.read_bytes(), "audio/flac", {"model": "large-v9"})
    gone = StorageObjectData(SourceObject("uploads", "users/bob/gone.flac", 7, 1000, "audio/flac"))
    codes = {}
    for obj in (text, options, gone):
        job = use_case.handle(obj)
        assert job is not None and job.status is JobStatus.FAILED
        assert events.types(job.job_id) == ["upload.rejected"]
        codes[obj.source.name] = (job.error or {})["code"]
    assert codes == {
        "users/bob/notes.wav": "unsupported_format",
        "users/bob/big.flac": "invalid_option",
        "users/bob/gone.flac": "source_missing",
    }
    assert publisher.messages == []


def test_events_for_other_buckets_are_ignored():
    use_case, blobs, publisher, events = intake()
    obj = StorageObjectData(SourceObject("elsewhere", "users/alice/a.flac", 1, 10, "audio/flac"))
    assert use_case.handle(obj) is None and publisher.messages == [] and events.events == []
