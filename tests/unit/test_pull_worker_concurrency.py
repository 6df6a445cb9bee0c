"""The pull worker side by side: at most ``concurrency`` requests in flight, within the audio budget,
each acknowledged on its own (a failing one handed back alone), every taken request announced."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

from jobs.transcribe.worker import PullWorker
from mixscribe.transcription import Outcome
from mixscribe.work_requests import TranscriptionRequest


class FakeSubscriber:
    """One subscription of queued bodies; records acks and deadlines per ack id."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.queued = list(enumerate(bodies))
        self.acked: list[str] = []
        self.deadlines: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def pull(self, request: dict, timeout: float) -> SimpleNamespace:
        with self._lock:
            if not self.queued:
                return SimpleNamespace(received_messages=[])
            index, body = self.queued.pop(0)
        message = SimpleNamespace(data=body, attributes={"job_id": f"job-{index}"})
        return SimpleNamespace(received_messages=[SimpleNamespace(ack_id=f"a{index}", message=message, delivery_attempt=1)])

    def acknowledge(self, request: dict) -> None:
        with self._lock:
            self.acked += request["ack_ids"]

    def modify_ack_deadline(self, request: dict) -> None:
        with self._lock:
            self.deadlines += [(ack_id, request["ack_deadline_seconds"]) for ack_id in request["ack_ids"]]


class Handler:
    """Takes 0.2 s a request and remembers how many ran at once; a body saying "fail" raises."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, data: bytes) -> Outcome:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.2)
            if json.loads(data).get("fail"):
                raise RuntimeError("this request's own failure")
            return Outcome.DONE
        finally:
            with self._lock:
                self.running -= 1


def body(audio_s: float | None, fail: bool = False) -> bytes:
    return json.dumps({"audio_s": audio_s, "fail": fail}).encode()


def run(bodies: list[bytes], concurrency: int, max_audio_s: float = float("inf")) -> tuple[Handler, FakeSubscriber, int, int]:
    subscriber, handler, taken = FakeSubscriber(bodies), Handler(), []
    worker = PullWorker(
        subscriber,
        ["work"],
        handler,
        lambda job_id: None,
        idle_timeout_s=0.3,
        ack_deadline_s=60,
        retry=None,
        concurrency=concurrency,
        weigh=TranscriptionRequest.audio_seconds,
        max_audio_s=max_audio_s,
        taken=lambda: taken.append(1),
    )
    return handler, subscriber, worker.run(), len(taken)


def test_requests_run_side_by_side_up_to_the_concurrency():
    handler, subscriber, handled, taken = run([body(10.0) for _ in range(7)], concurrency=3)
    assert handled == 7 and taken == 7 and handler.most == 3
    assert sorted(subscriber.acked) == sorted(f"a{i}" for i in range(7))


def test_the_audio_budget_bounds_the_work_in_flight():
    handler, _, handled, _ = run([body(100.0) for _ in range(6)], concurrency=4, max_audio_s=150.0)
    assert handled == 6 and handler.most == 2  # one request over the budget at most
    handler, _, handled, _ = run([body(None) for _ in range(3)], concurrency=4, max_audio_s=150.0)
    assert handled == 3 and handler.most == 1  # unknown length: the whole budget


def test_a_failing_request_is_handed_back_alone():
    bodies = [body(5.0), body(5.0, fail=True), body(5.0)]
    _, subscriber, handled, _ = run(bodies, concurrency=3)
    assert handled == 3 and sorted(subscriber.acked) == ["a0", "a2"]
    assert ("a1", 0) in subscriber.deadlines and all(d != 0 for a, d in subscriber.deadlines if a != "a1")


def test_one_at_a_time_takes_requests_in_order_in_its_own_thread():
    handler, subscriber, handled, taken = run([body(1.0) for _ in range(3)], concurrency=1)
    assert handled == 3 and handler.most == 1 and subscriber.acked == ["a0", "a1", "a2"] and taken == 0


def test_request_bodies_carry_their_audio_seconds():
    assert TranscriptionRequest.audio_seconds(body(12.5)) == 12.5
    assert TranscriptionRequest.audio_seconds(b"not json") is None
    assert TranscriptionRequest.audio_seconds(b"[1, 2]") is None
    assert TranscriptionRequest.audio_seconds(body(-1.0)) is None


def test_audio_seconds_survive_the_round_trip_and_stay_optional():
    from mixscribe.jobs import JobOptions

    request = TranscriptionRequest("j", "b", "n.flac", 1, JobOptions(model="tiny.en"), audio_s=8.4)
    assert TranscriptionRequest.from_json(request.to_json()) == request
    assert TranscriptionRequest.audio_seconds(request.to_json()) == 8.4
    plain = TranscriptionRequest("j", "b", "n.flac", 1, JobOptions(model="tiny.en"))
    assert b"audio_s" not in plain.to_json() and TranscriptionRequest.from_json(plain.to_json()).audio_s is None
