"""Requests that exhausted their deliveries: the job fails with ``dead_lettered``, loudly.

A request lands on a ``*-dead`` topic after the subscription's max delivery attempts, i.e. it
failed with an unexpected error every time (a poison message). The job must not stay
``transcribing`` or ``summarizing`` forever: it is failed without parsing its document (which may
be what poisoned it), a ``job.failed`` event goes out (webhooks fire), and one CRITICAL log line
with ``alert: true`` is what the log-based alert in infra pages on.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Mapping

from . import telemetry
from .errors import ErrorCode
from .events import EventSink, make_event
from .logs import fields
from .store import JobStore

log = logging.getLogger(__name__)
SOURCE = "functions/dead_letters"


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message: which job, from which subscription, after how many deliveries."""

    job_id: str | None
    topic: str
    subscription: str
    delivery_attempt: int
    message_id: str

    @classmethod
    def from_message(cls, message: Mapping[str, Any], topic: str, data: bytes) -> "DeadLetter":
        attributes = message.get("attributes") or {}
        job_id = attributes.get("job_id")
        if not job_id:  # the attribute is set by every publisher; the body is a fallback
            try:
                job_id = json.loads(data).get("job_id")
            except (ValueError, AttributeError):
                job_id = None
        return cls(
            job_id=str(job_id) if job_id else None,
            topic=topic,
            subscription=str(attributes.get("CloudPubSubDeadLetterSourceSubscription", "")),
            delivery_attempt=int(attributes.get("CloudPubSubDeadLetterSourceDeliveryCount", 0) or 0),
            message_id=str(message.get("messageId", "")),
        )


class DeadLetterHandler:
    def __init__(self, store: JobStore, events: EventSink) -> None:
        self.store = store
        self.events = events

    def handle(self, letter: DeadLetter) -> bool:
        """Fail the letter's job (unless it already ended); True when this call failed it."""
        telemetry.DEAD_LETTERS.add(1, {"topic": letter.topic.rsplit("/", 1)[-1]})
        message = f"the request failed on every delivery ({letter.delivery_attempt}) and was dead-lettered"
        failed = False
        if letter.job_id:
            error = {"code": ErrorCode.DEAD_LETTERED.value, "message": message}
            failed = self.store.force_fail(letter.job_id, error)
            if failed:
                self.events.emit(make_event("job.failed", letter.job_id, SOURCE, error))
        log.critical(
            "request dead-lettered",
            extra=fields(
                alert=True, job_id=letter.job_id, code=ErrorCode.DEAD_LETTERED.value, topic=letter.topic,
                subscription=letter.subscription, delivery_attempt=letter.delivery_attempt,
                message_id=letter.message_id, job_failed=failed,
            ),
        )
        return failed
