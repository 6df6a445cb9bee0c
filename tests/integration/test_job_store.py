"""JobStore against the Firestore emulator: transitions never go backwards, one worker per job."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from mixscribe.errors import TransitionRefused
from mixscribe.jobs import Job, JobOptions, JobStatus, SourceObject
from mixscribe.store import ClaimOutcome, JobStore


@pytest.fixture()
def store(stack):
    """A JobStore whose test jobs (in a bucket no worker serves) are deleted afterwards."""
    yield JobStore(stack.db)
    for snap in stack.db.collection("jobs").where(filter=FieldFilter("source.bucket", "==", BUCKET)).stream():
        snap.reference.delete()


BUCKET = "job-store-tests"


def new_job(store: JobStore, name: str) -> Job:
    source = SourceObject(BUCKET, name, 1, 10, "audio/wav")
    job, created = store.create(Job.new(source, JobOptions(model="tiny.en"), datetime.now(timezone.utc), 1))
    assert created
    return job


def test_create_is_idempotent(store, request):
    job = new_job(store, request.node.name)
    again, created = store.create(job)
    assert not created and again.job_id == job.job_id


def test_transitions_refuse_to_go_backwards(store, request):
    job = new_job(store, request.node.name)
    store.transition(job.job_id, JobStatus.TRANSCRIBED)
    with pytest.raises(TransitionRefused):
        store.transition(job.job_id, JobStatus.TRANSCRIBING)
    with pytest.raises(TransitionRefused):
        store.transition(job.job_id, JobStatus.QUEUED)
    store.transition(job.job_id, JobStatus.DONE)
    with pytest.raises(TransitionRefused):
        store.transition(job.job_id, JobStatus.FAILED)
    assert store.get(job.job_id).status is JobStatus.DONE


def test_one_claim_wins_and_an_expired_lease_is_taken_over(store, request):
    job = new_job(store, request.node.name)
    with ThreadPoolExecutor(4) as pool:
        claims = list(pool.map(lambda i: store.claim(job.job_id, f"w{i}", lease_s=120), range(4)))
    outcomes = sorted(c.outcome.value for c in claims)
    assert outcomes == ["busy", "busy", "busy", "claimed"]
    later = datetime.now(timezone.utc) + timedelta(seconds=121)
    takeover = store.claim(job.job_id, "w-late", lease_s=120, now=later)
    assert takeover.outcome is ClaimOutcome.CLAIMED and takeover.job.attempts == 2
    store.transition(job.job_id, JobStatus.TRANSCRIBED)
    assert store.claim(job.job_id, "w-after", 120).outcome is ClaimOutcome.FINISHED


def test_publish_and_dispatch_have_one_winner(store, request):
    job = new_job(store, request.node.name)
    with ThreadPoolExecutor(6) as pool:
        winners = list(pool.map(lambda _: store.begin_publish(job.job_id, 30), range(6)))
    assert winners.count(True) == 1
    name = f"dispatch-{request.node.name}"[:60]
    with ThreadPoolExecutor(6) as pool:
        launches = list(pool.map(lambda _: store.try_dispatch(name, 60), range(6)))
    assert launches.count(True) == 1
    assert store.try_dispatch(name, 60, now=datetime.now(timezone.utc) + timedelta(seconds=61))

