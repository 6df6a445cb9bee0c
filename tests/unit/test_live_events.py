"""Following a job (``mixscribe.webapi.live``) on fake documents: the current state first, then each
change once, the end; a job recorded late is waited for; a deleted one ends the stream."""

from __future__ import annotations

import pytest

from mixscribe.jobs import Job, JobOptions, JobStatus, SourceObject
from mixscribe.progress import PartialSegment, PieceProgress
from mixscribe.store import JobStore, utcnow
from mixscribe.webapi.live import event_stream, follow
from mixscribe.webapi.spec import schema_validator
from tests.fakes import FakeDocuments

SOURCE = SourceObject("uploads", "users/alice/a.flac", 1, 10, "audio/flac")


class Script:
    """A clock and a sleep that run a scripted step (a change to the job) at each sleep."""

    def __init__(self, steps) -> None:
        self.now, self.steps = 0.0, list(steps)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.steps:
            self.steps.pop(0)()


def test_changes_come_once_each_in_order_until_the_end():
    store = JobStore(FakeDocuments())
    job, _ = store.create(Job.new(SOURCE, JobOptions(model="tiny.en"), utcnow(), 1))
    job_id = job.job_id

    def claim() -> None:
        store.claim(job_id, "w1", 60)

    def progress(done: float, text: str) -> None:
        state = PieceProgress(done, 10.0, 0.0, done, [PartialSegment(0, done, t) for t in text.split()])
        store.record_progress(job_id, 0, state, 10.0)

    script = Script(
        [
            claim,
            lambda: progress(4.0, "one"),
            lambda: None,  # nothing new: the caller is told so (None)
            lambda: progress(8.0, "one two"),
            lambda: store.transition(job_id, JobStatus.DONE, {"progress": {"percent": 100.0, "updated_at": utcnow()}}),
        ]
    )
    changes = list(follow(store, job_id, 1.0, 60.0, script.sleep, script.clock))
    kinds = [c.kind if c else None for c in changes]
    assert kinds == ["status", "status", "progress", "segment", None, "progress", "segment", "status", "progress", "end"]
    assert [c.data()["text"] for c in changes if c and c.kind == "segment"] == ["one", "two"]
    assert [c.data()["percent"] for c in changes if c and c.kind == "progress"] == [40.0, 80.0, 100.0]
    for change in changes:
        if change and change.kind in ("status", "end"):
            schema_validator("Job").validate(change.data())
        elif change and change.kind == "segment":
            schema_validator("JobEventSegment").validate(change.data())


def test_a_job_recorded_late_is_waited_for_and_a_deleted_one_ends_the_stream():
    documents = FakeDocuments()
    store = JobStore(documents)
    job = Job.new(SOURCE, JobOptions(model="tiny.en"), utcnow(), 1)
    script = Script([lambda: None, lambda: store.create(job), lambda: documents.delete(f"jobs/{job.job_id}")])
    kinds = [c.kind if c else None for c in follow(store, job.job_id, 1.0, 60.0, script.sleep, script.clock)]
    assert kinds == [None, None, "status"]  # waited twice, saw it; it went away: the stream ends

    never = Script([])
    assert all(c is None for c in follow(store, "j" + "1" * 31, 1.0, 3.0, never.sleep, never.clock))


def test_the_event_stream_keeps_an_idle_connection_alive_and_says_when_to_reconnect():
    store = JobStore(FakeDocuments())
    job, _ = store.create(Job.new(SOURCE, JobOptions(model="tiny.en"), utcnow(), 1))
    ticks = iter(range(0, 1000, 5))
    out = list(event_stream(iter([None, None, None, None]), 15.0, lambda: float(next(ticks))))
    assert out == [": waiting\n\n"]  # one comment in 20 idle seconds
    first = next(event_stream(follow(store, job.job_id, 1.0, 1.0), 15.0))
    assert first.startswith("retry: 3000\nevent: status\ndata: {")


def test_waiting_for_a_record_finds_it_when_it_appears_and_refuses_strangers_at_once():
    from mixscribe.auth import Caller
    from mixscribe.config import Settings
    from mixscribe.webapi.service import ApiError, JobsService
    from tests.fakes import FakeBlobs

    store = JobStore(FakeDocuments())
    service = JobsService(Settings(), store, FakeBlobs(), signer=None)  # type: ignore[arg-type]
    job = Job.new(SOURCE, JobOptions(model="tiny.en"), utcnow(), 1)
    store.promise(job.job_id, "alice", 60)  # the API handed alice this id with a signed upload
    naps: list[float] = []

    def nap(seconds: float) -> None:  # the upload's trigger records the job while the stream waits
        naps.append(seconds)
        store.create(job)

    assert service.get_when_recorded(Caller("alice"), job.job_id, 30, nap).job_id == job.job_id
    assert len(naps) == 1
    for stranger in ("bob", "mallory"):
        with pytest.raises(ApiError) as refused:
            service.get_when_recorded(Caller(stranger), job.job_id, 30, naps.append)
        assert refused.value.status == 404
    never = Job.new(SourceObject("uploads", "users/alice/b.flac", 1, 10, "audio/flac"), None, utcnow(), 1)
    with pytest.raises(ApiError):  # an id nobody promised: 404 without waiting
        service.get_when_recorded(Caller("alice"), never.job_id, 30, naps.append)
    assert len(naps) == 1
