"""One lifecycle: a transition and its typed event are one call, stamped with one time; statuses
and event types are declared once and read by the API spec, the analytics fold and the webhooks."""

from __future__ import annotations

from datetime import datetime

import yaml

from beam_pipelines.analytics.records import _STATUS_OF, TERMINAL_TYPES
from mixscribe.errors import ErrorCode
from mixscribe.event_types import BODIES, JobCompleted, JobQueued, JobStarted, JobTranscribed, body_of
from mixscribe.events import EVENT_TYPES, Event
from mixscribe.jobs import Job, JobOptions, JobStatus, SourceObject
from mixscribe.lifecycle import Lifecycle
from mixscribe.store import ClaimOutcome, JobStore, utcnow
from tests.conftest import REPO
from tests.fakes import FakeDocuments, FakeEventSink


def queued_job() -> tuple[Lifecycle, JobStore, FakeEventSink, Job]:
    store, events = JobStore(FakeDocuments()), FakeEventSink()
    source = SourceObject("uploads", "users/alice/a.flac", 1, 1000, "audio/flac")
    job, _ = store.create(Job.new(source, JobOptions(model="tiny.en", notes=False), utcnow(), 1))
    return Lifecycle(store, events, "test"), store, events, job


def test_a_transition_and_its_events_carry_one_time_and_a_refused_one_emits_nothing():
    lifecycle, store, events, job = queued_job()
    lifecycle.created(job, JobQueued(owner=job.owner))
    claim = lifecycle.start(job.job_id, "w0", lease_s=60, max_attempts=3)
    assert claim.outcome is ClaimOutcome.CLAIMED and claim.job is not None and claim.job.attempts == 1
    started_at = store.get(job.job_id).updated_at
    moved = lifecycle.move(job.job_id, JobStatus.DONE, {"outputs": {}}, JobTranscribed(word_count=3), JobCompleted("done"))
    queued, started, transcribed, completed = events.events
    assert datetime.fromisoformat(queued.occurred_at) == job.created_at
    assert datetime.fromisoformat(started.occurred_at) == started_at
    assert transcribed.occurred_at == completed.occurred_at == moved.updated_at.isoformat()
    assert [e.type for e in events.events] == ["job.queued", "job.started", "job.transcribed", "job.completed"]
    assert started.body() == JobStarted(attempt=1, worker="w0") and started.schema_version == JobStarted.VERSION

    assert not lifecycle.fail(job.job_id, ErrorCode.CORRUPT_AUDIO, "too late")  # done is terminal
    assert len(events.events) == 4 and store.get(job.job_id).status is JobStatus.DONE


def test_a_claim_past_the_attempts_limit_fails_the_job_without_a_start():
    lifecycle, store, events, job = queued_job()
    for attempt in range(3):
        assert lifecycle.start(job.job_id, f"w{attempt}", lease_s=0, max_attempts=2).outcome is (
            ClaimOutcome.CLAIMED if attempt < 2 else ClaimOutcome.EXHAUSTED
        )
    failed = store.get(job.job_id)
    assert failed.status is JobStatus.FAILED and (failed.error or {})["code"] == "retries_exhausted"
    assert [e.type for e in events.events] == ["job.started", "job.started", "job.failed"]


def test_event_bodies_round_trip_and_readers_tolerate_unknown_and_missing_keys():
    assert EVENT_TYPES == set(BODIES)
    for kind, body_type in BODIES.items():
        body = body_type()
        event = Event.from_json(Event("id", kind, "j", "2026-12-02T00:00:00+00:00", "t", 1, body.attributes()).to_json())
        assert event.body() == body
    newer = {"word_count": 7, "a_field_from_the_future": True}
    assert body_of("job.transcribed", newer) == JobTranscribed(word_count=7)


def test_statuses_are_declared_once_the_api_spec_and_the_analytics_fold_agree():
    spec = yaml.safe_load((REPO / "mixscribe" / "webapi" / "openapi.yaml").read_text())
    assert spec["components"]["schemas"]["Status"]["enum"] == [status.value for status in JobStatus]
    assert set(_STATUS_OF.values()) <= {status.value for status in JobStatus}
    assert TERMINAL_TYPES == {"job.completed", "job.failed", "upload.rejected"}
