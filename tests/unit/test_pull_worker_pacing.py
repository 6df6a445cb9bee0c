"""The pull worker asks its subscriptions most urgent first and, on empty queues that answer at once
(as the Pub/Sub emulator does), waits between rounds instead of spinning."""

from __future__ import annotations

import time
from types import SimpleNamespace

from jobs.transcribe.worker import IDLE_POLL_S, PullWorker
from mixscribe.transcription import Outcome


class FakeSubscriber:
    """Empty subscriptions that answer at once, except for messages queued on them."""

    def __init__(self, queued: dict[str, list[bytes]]) -> None:
        self.queued = queued
        self.pulls: list[str] = []
        self.acked: list[str] = []

    def pull(self, request: dict, timeout: float) -> SimpleNamespace:
        self.pulls.append(request["subscription"])
        waiting = self.queued.get(request["subscription"], [])
        if not waiting:
            return SimpleNamespace(received_messages=[])
        message = SimpleNamespace(data=waiting.pop(0), attributes={})
        return SimpleNamespace(received_messages=[SimpleNamespace(ack_id="a", message=message, delivery_attempt=1)])

    def acknowledge(self, request: dict) -> None:
        self.acked.append(request["subscription"])

    def modify_ack_deadline(self, request: dict) -> None:
        pass


def test_urgent_first_and_no_busy_loop_on_empty_queues():
    subscriber = FakeSubscriber({"normal": [b"n1"], "high": [b"h1"]})
    handled: list[bytes] = []

    def handle(data: bytes) -> Outcome:
        handled.append(data)
        return Outcome.DONE

    worker = PullWorker(subscriber, ["high", "normal"], handle, lambda job_id: None, idle_timeout_s=1.0, ack_deadline_s=60)
    started = time.monotonic()
    assert worker.run() == 2
    idle_s = time.monotonic() - started
    assert handled == [b"h1", b"n1"] and subscriber.acked == ["high", "normal"]
    rounds = (len(subscriber.pulls) - 3) / 2  # after the two messages: empty rounds of two pulls
    assert idle_s >= 1.0 and rounds <= idle_s / IDLE_POLL_S + 2, (rounds, idle_s)
