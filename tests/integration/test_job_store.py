"""JobStore on both ``Documents`` (the in-memory fake and Firestore's emulator): transitions never go
backwards, one worker per job, pages and backlog from queries."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from mixscribe.errors import TransitionRefused
from mixscribe.gcp.firestore_documents import FirestoreDocuments
from mixscribe.jobs import Job, JobOptions, JobStatus, SourceObject
from mixscribe.store import ClaimOutcome, JobStore
from tests.fakes import FakeDocuments


@pytest.fixture(params=["fake", "firestore"])
def store(request):
    """A JobStore whose test jobs (in a bucket no worker serves) are deleted afterwards."""
    if request.param == "fake":
        yield JobStore(FakeDocuments())
        return
    stack = request.getfixturevalue("stack")
    yield JobStore(FirestoreDocuments(stack.db))
    for snap in stack.db.collection("jobs").where(filter=FieldFilter("source.bucket", "==", BUCKET)).stream():
        snap.reference.delete()


BUCKET = "job-store-tests"


def new_job(store: JobStore, name: str) -> Job:
    source = SourceObject(BUCKET, name, 1, 10, "audio/wav")
    job, created = store.create(Job.new(source, JobOptions(model="tiny.en"), datetime.now(UTC), 1))
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
    later = datetime.now(UTC) + timedelta(seconds=121)
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
    assert store.try_dispatch(name, 60, now=datetime.now(UTC) + timedelta(seconds=61))


def test_pages_of_an_owner_newest_first_and_the_backlog(store, request):
    owner = f"owner-{uuid.uuid4().hex[:8]}"
    start = datetime.now(UTC)
    made = []
    for i in range(5):
        source = SourceObject(BUCKET, f"users/{owner}/{request.node.name}-{i}.wav", 1, 10, "audio/wav")
        priority = "batch" if i == 4 else "normal"
        job = Job.new(source, JobOptions(model="tiny.en", priority=priority), start + timedelta(seconds=i), 1)
        job.probe = {"duration_s": 60.0 * (i + 1)}
        store.create(job)
        made.append(job.job_id)
    store.transition(made[0], JobStatus.DONE)
    first, more = store.list_for_owner(owner, 2)
    assert [j.job_id for j in first] == made[:-3:-1] and more
    last = first[-1]
    second, more = store.list_for_owner(owner, 10, after=(last.created_at, last.job_id))
    assert [j.job_id for j in second] == made[2::-1] and not more
    done, _ = store.list_for_owner(owner, 10, status=JobStatus.DONE)
    assert [j.job_id for j in done] == [made[0]]
    backlog = store.backlog(shard_min_s=600, priorities=("normal", "batch"))
    assert backlog.jobs >= 4 and backlog.audio_s >= 60.0 * (2 + 3 + 4 + 5)
    batch = store.backlog(shard_min_s=600, priorities=("batch",))  # a queue's own backlog
    assert batch.jobs >= 1 and batch.audio_s >= 300.0 and batch.jobs < backlog.jobs


def test_only_the_lease_holder_renews(store, request):
    job = new_job(store, request.node.name)
    assert store.claim(job.job_id, "holder", lease_s=30).outcome is ClaimOutcome.CLAIMED
    store.renew_lease(job.job_id, "holder", 30)
    with pytest.raises(TransitionRefused):
        store.renew_lease(job.job_id, "someone-else", 30)
    assert store.claim(job.job_id, "someone-else", lease_s=30).outcome is ClaimOutcome.BUSY
