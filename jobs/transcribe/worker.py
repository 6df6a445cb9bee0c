"""A pull worker: takes requests from its Pub/Sub subscriptions until they are idle.

One at a time, or ``concurrency`` side by side (each in its own thread, with its own heartbeat and
ack), so that short requests share the model's batches (``mixscribe.transcription.dynamic_batching``)
and one request's download and outputs overlap another's model time. It takes a new request only
while fewer than ``concurrency`` are in flight and their audio (``weigh``: a request's audio seconds,
None when unknown, which counts as the whole budget) stays under ``max_audio_s``: memory holds the
decoded audio of the requests in flight, at most one over the budget.

It pulls its subscriptions most urgent first (a job's priority queues, ``mixscribe.topology``) and
takes the first request it finds, so a high-priority request waits for no other queue's backlog.

While a request is worked on, a heartbeat thread extends its ack deadline and the job's lease.
Acknowledged: finished or duplicate requests. Deadline set to ``busy_retry_s``: a job another
worker holds (the lease length, so a dead holder's job comes back as its lease ends; the task
stays past its idle timeout until such a deferred request is due again). Deadline set to 0 (nack): an unexpected
error, so Pub/Sub redelivers and, after the
subscription's max delivery attempts, dead-letters it.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from google.api_core import exceptions as gexc

from mixscribe import telemetry
from mixscribe.logs import fields
from mixscribe.topology import RETRY, Retry
from mixscribe.transcription import Outcome

log = logging.getLogger(__name__)
# The shortest round of pulls over every subscription while the queues are empty. Cloud Pub/Sub may
# hold an empty pull for a bounded time until a message comes (``return_immediately`` unset); the
# emulator answers at once, and a warm task sees a new request within this (0.25 s: P3 warm 0.36-0.50 s;
# 0.1 s: 0.26-0.42 s, the emulator's idle CPU 0.06 → 0.09 of a core).
IDLE_POLL_S = 0.1


class Heartbeat:
    """Extends a message's ack deadline (and calls ``renew``) every third of the deadline."""

    def __init__(self, extend: Callable[[], None], interval_s: float) -> None:
        self._extend = extend
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._extend()
            except Exception:  # a missed beat is retried at the next one
                log.warning("heartbeat failed", exc_info=True)


class PullWorker:
    def __init__(
        self,
        subscriber: Any,
        subscriptions: Sequence[str],
        handle: Callable[[bytes], Outcome],
        renew: Callable[[str], None],
        idle_timeout_s: float,
        ack_deadline_s: int,
        pull_timeout_s: float = 5.0,
        busy_retry_s: int = 30,
        retry: Retry | None = RETRY,
        concurrency: int = 1,
        weigh: Callable[[bytes], float | None] | None = None,
        max_audio_s: float = float("inf"),
        taken: Callable[[], None] | None = None,
    ) -> None:
        self.subscriber = subscriber
        self.subscriptions = tuple(subscriptions)
        self.handle = handle
        self.renew = renew
        self.idle_timeout_s = idle_timeout_s
        self.ack_deadline_s = ack_deadline_s
        self.pull_timeout_s = pull_timeout_s
        self.busy_retry_s = busy_retry_s
        self.retry = retry or Retry(0, 0)
        self.concurrency = max(1, concurrency)
        self.weigh = weigh or (lambda data: None)
        self.max_audio_s = max_audio_s
        self.taken = taken or (lambda: None)  # told in this thread as a request is taken, before its own starts
        self._stopping = threading.Event()
        self._deferred_until = 0.0
        self._deferring = threading.Lock()

    def install_signal_handlers(self) -> None:
        """SIGTERM (Cloud Run stopping the task) finishes the current request, then stops."""
        signal.signal(signal.SIGTERM, lambda *_: self._stopping.set())

    def run(self) -> int:
        """Work until idle for ``idle_timeout_s`` or asked to stop; the number of messages handled."""
        handled = 0
        last_work = time.monotonic()
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="request") if self.concurrency > 1 else None
        in_flight: dict[Future[None], float] = {}  # a request's thread → its audio seconds
        try:
            while not self._stopping.is_set():
                for future in [f for f in in_flight if f.done()]:
                    del in_flight[future]
                    handled += 1
                    last_work = time.monotonic()
                asked = time.monotonic()
                room = len(in_flight) < self.concurrency and sum(in_flight.values()) < self.max_audio_s
                messages = self._pull(busy=bool(in_flight)) if room else []
                for subscription, received in messages:
                    if pool is None:
                        self._handle_one(subscription, received)
                        handled += 1
                    else:
                        weight = self.weigh(received.message.data)
                        self.taken()
                        in_flight[pool.submit(self._handle_one, subscription, received)] = (
                            self.max_audio_s if weight is None else weight
                        )
                if messages:
                    last_work = time.monotonic()
                    continue
                if in_flight:
                    wait(in_flight, timeout=IDLE_POLL_S, return_when=FIRST_COMPLETED)
                    continue
                now = time.monotonic()
                # stay for requests this task deferred: nobody else may be left to take them
                if now - last_work >= self.idle_timeout_s and now >= self._deferred_until:
                    break
                # a server that answers an empty pull at once (the Pub/Sub emulator does, measured) is asked
                # again after IDLE_POLL_S, not in a busy loop that starves the machine's other tasks
                self._stopping.wait(max(0.0, IDLE_POLL_S - (now - asked)))
        finally:
            if pool is not None:
                pool.shutdown(wait=True)  # asked to stop: the requests in flight finish first
                handled += len(in_flight)
        log.info("worker leaving", extra=fields(handled=handled, stopping=self._stopping.is_set()))
        return handled

    def _pull(self, busy: bool = False) -> list[tuple[str, Any]]:
        """One request from the most urgent subscription that has one (each asked with a short timeout
        when there are several, so an urgent request is seen within about a second, and while requests
        are in flight, so their ends are noticed)."""
        timeout = self.pull_timeout_s if len(self.subscriptions) == 1 else min(1.0, self.pull_timeout_s)
        if busy:
            timeout = min(timeout, 0.5)
        for subscription in self.subscriptions:
            try:
                response = self.subscriber.pull(request={"subscription": subscription, "max_messages": 1}, timeout=timeout)
            except (gexc.DeadlineExceeded, gexc.ServiceUnavailable, gexc.RetryError):
                time.sleep(0.2)
                continue
            if response.received_messages:
                return [(subscription, received) for received in response.received_messages]
        return []

    def _set_deadline(self, subscription: str, ack_id: str, seconds: int) -> None:
        self.subscriber.modify_ack_deadline(
            request={"subscription": subscription, "ack_ids": [ack_id], "ack_deadline_seconds": seconds}
        )

    def _handle_one(self, subscription: str, received: Any) -> None:
        ack_id = received.ack_id
        message = received.message
        job_id = message.attributes.get("job_id")

        def extend() -> None:
            self._set_deadline(subscription, ack_id, self.ack_deadline_s)
            if job_id:
                self.renew(job_id)

        parent = telemetry.traceparent_from(message.attributes)
        attributes = {"mixscribe.job_id": job_id, "messaging.delivery_attempt": received.delivery_attempt}
        with telemetry.span("transcribe.request", parent, **attributes) as current:
            try:
                with Heartbeat(extend, max(1.0, self.ack_deadline_s / 3)):
                    outcome = self.handle(message.data)
            except Exception as exc:
                current.record_exception(exc)
                current.set_status(telemetry.error_status())
                log.error(
                    "request failed; returned to the queue",
                    exc_info=True,
                    extra=fields(job_id=job_id, delivery_attempt=received.delivery_attempt),
                )
                outcome = None
        telemetry.flush()
        if outcome is None:
            self._set_deadline(subscription, ack_id, 0)
            # the subscription's backoff may outlast the idle timeout: wait for the redelivery (or its dead letter)
            hold = self.retry.backoff_s(received.delivery_attempt or 1) + self.pull_timeout_s
            self._defer(hold)
        elif outcome is Outcome.RETRY_LATER:
            self._set_deadline(subscription, ack_id, self.busy_retry_s)
            self._defer(self.busy_retry_s + self.pull_timeout_s + 5)
        else:
            self.subscriber.acknowledge(request={"subscription": subscription, "ack_ids": [ack_id]})

    def _defer(self, seconds: float) -> None:
        """Stay at least ``seconds`` more, whatever the idle timeout (a request this task handed back is due)."""
        with self._deferring:
            self._deferred_until = max(self._deferred_until, time.monotonic() + seconds)
