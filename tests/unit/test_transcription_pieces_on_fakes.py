"""A file in pieces over two tasks takes the short file's road: one claim, one ``job.started``, one
attempts rule, the job's lease alive while any piece works, complete timings (fakes, real tiny.en)."""

from __future__ import annotations

import io
import json
import threading
import time

import numpy as np
import soundfile

from jobs.transcribe.worker import Heartbeat
from mixscribe import layout
from mixscribe.config import Settings
from mixscribe.jobs import Job, JobOptions, JobStatus, SourceObject
from mixscribe.store import ClaimOutcome, JobStore, utcnow
from mixscribe.transcription import ModelCache, Outcome, TaskIdentity, Transcription
from mixscribe.transcription.piece_store import Plan, ShardStore
from mixscribe.work_requests import TranscriptionRequest
from tests.conftest import SAMPLE, decode_mono
from tests.fakes import FakeBlobs, FakeDocuments, FakeEventSink, FakePublisher

SETTINGS = Settings.from_env({"MIXSCRIBE_SHARD_MIN_S": "10"}, upload_bucket="uploads", results_bucket="results")
MODELS = ModelCache(SETTINGS)


class World:
    """One job's fakes, shared by the tasks of one execution."""

    def __init__(self) -> None:
        self.documents, self.blobs, self.publisher, self.events = FakeDocuments(), FakeBlobs(), FakePublisher(), FakeEventSink()
        self.store = JobStore(self.documents)
        meeting = decode_mono(SAMPLE, 16000)
        audio, body = np.concatenate([meeting, np.zeros(16000, np.float32), meeting]), io.BytesIO()  # ~18 s, a pause mid-way
        soundfile.write(body, audio, 16000, format="WAV", subtype="PCM_16")
        name = "users/alice/twice.wav"
        generation = self.blobs.put("uploads", name, body.getvalue(), "audio/wav")
        source = SourceObject("uploads", name, generation, len(body.getvalue()), "audio/wav")
        options = JobOptions(model="tiny.en", notes=False)
        self.job, _ = self.store.create(Job.new(source, options, utcnow(), 1))
        self.request = TranscriptionRequest(self.job.job_id, "uploads", name, generation, options)

    def task(self, index: int, lease_s: int = 120) -> Transcription:
        settings = SETTINGS.model_copy(update={"lease_s": lease_s})
        identity = TaskIdentity(index, 2, 0, "unit-exec")
        return Transcription(settings, self.store, self.blobs, self.publisher, self.events, MODELS, identity, max_attempts=3)

    def piece_requests(self) -> list[bytes]:
        topic = SETTINGS.request_topic("normal")
        return [data for to, data, _ in self.publisher.messages if to == topic]


def test_two_tasks_one_claim_one_start_the_job_lease_kept_alive_and_complete_timings():
    world = World()
    job_id = world.job.job_id
    assert world.task(0, lease_s=1).transcribe(world.request) is Outcome.DONE  # plans, hands out piece 1, does piece 0
    (piece,) = world.piece_requests()
    assert json.loads(piece)["shard"] == 1 and world.store.get(job_id).status is JobStatus.TRANSCRIBING
    time.sleep(1.2)  # the planner's lease has run out; piece 1 is still to do

    second = world.task(1, lease_s=1)
    outcomes: list[ClaimOutcome] = []
    done = threading.Event()

    def intrude() -> None:  # a redelivered job request, as another worker would try it while piece 1 works
        while not done.is_set():
            until = ((world.documents.get(f"jobs/{job_id}") or {}).get("lease") or {}).get("until")
            if until is not None and until > utcnow():
                outcomes.append(world.store.claim(job_id, "intruder", 1).outcome)
            time.sleep(0.05)

    intruder = threading.Thread(target=intrude)
    intruder.start()
    try:
        with Heartbeat(lambda: second.renew(job_id), interval_s=0.25):
            assert second.process(piece) is Outcome.DONE  # the last piece: stitches and finishes
    finally:
        done.set()
        intruder.join()
    assert ClaimOutcome.BUSY in outcomes and ClaimOutcome.CLAIMED not in outcomes, outcomes

    finished = world.store.get(job_id)
    assert finished.status is JobStatus.DONE and finished.attempts == 1
    assert world.events.types(job_id) == ["job.started", "job.transcribed", "job.completed"]
    assert world.blobs.reads.count(("uploads", world.request.name)) == 1  # the file fetched and decoded once, by the planner
    metrics = json.loads(world.blobs.read("results", layout.metrics_path(job_id)))
    timings = metrics["timings"]
    assert set(timings) == {"download_s", "decode_s", "plan_s", "transcribe_s", "stitch_s", "write_s", "total_s"}
    assert timings["total_s"] >= 1.2 + timings["transcribe_s"]  # from the planner's start, across both tasks
    transcript = json.loads(world.blobs.read("results", layout.transcript_path(job_id, "json")))
    assert transcript["options"]["shards"] == 2
    assert " ".join(s["text"] for s in transcript["segments"]).lower().count("planning meeting") == 2
    assert not [name for bucket, name in world.blobs.objects if "/pieces/" in name]  # pieces and their audio cleaned up

    assert second.process(piece) is Outcome.DONE  # a redelivered piece of a finished job: dropped
    assert world.events.types(job_id) == ["job.started", "job.transcribed", "job.completed"]


def test_a_piece_past_the_attempts_limit_fails_its_job():
    world = World()
    job_id = world.job.job_id
    world.store.claim(job_id, "planner", 120)
    ShardStore(world.documents).save_plan(job_id, Plan(2, [0, 100, 200], 16000, {"duration_s": 0.0125}, "planner"))
    world.documents.set(f"jobs/{job_id}/shards/1", {"state": "working", "attempts": 3, "lease_until": None}, merge=True)
    piece = TranscriptionRequest(job_id, "uploads", world.request.name, world.request.generation, world.request.options, shard=1)
    assert world.task(1).process(piece.to_json()) is Outcome.DONE
    failed = world.store.get(job_id)
    assert failed.status is JobStatus.FAILED and (failed.error or {})["code"] == "retries_exhausted"
    assert world.events.types(job_id) == ["job.failed"]


def test_a_retried_job_keeps_the_plan_an_earlier_attempt_saved():
    """A claim brings the saved plan along (no read of its own); a later attempt cuts where the first
    did (here at 5 s, where a new plan would cut at the pause), hands out the same piece again and
    does the piece it has."""
    world = World()
    job_id = world.job.job_id
    world.store.claim(job_id, "planner", 120)  # the first attempt: it saved its plan, then died
    cuts = [0, 5 * 16000, world.blobs.stat("uploads", world.request.name).size // 2 - 22]
    ShardStore(world.documents).save_plan(job_id, Plan(2, cuts, 16000, {"duration_s": cuts[-1] / 16000}, "planner"))
    world.documents.update(f"jobs/{job_id}", {"lease": None})  # its lease ran out
    assert (world.store.claim(job_id, "brief", 120).saved_plan or {}).get("cuts") == cuts  # a second attempt, gone at once
    world.documents.update(f"jobs/{job_id}", {"lease": None})
    assert world.task(0).transcribe(world.request) is Outcome.DONE
    (piece,) = world.piece_requests()
    assert json.loads(piece)["audio_s"] == round((cuts[2] - cuts[1]) / 16000, 3)
    job = world.store.get(job_id)
    assert job.attempts == 3 and job.status is JobStatus.TRANSCRIBING
    assert ShardStore(world.documents).plan(job_id).cuts == cuts
    assert (world.documents.get(f"jobs/{job_id}/shards/0") or {}).get("state") == "done"
