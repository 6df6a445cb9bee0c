"""Messages that exhausted their deliveries end loudly, and no job is left hanging.

A message lands on a ``*-dead`` topic after its subscription's max delivery attempts, i.e. its
consumer failed with an unexpected error every time (a poison message, or a dependency down for
longer than the retries). What the ``dead_letters`` function does depends on whose it was
(``topology.source_of``):

- a transcription or notes request: the job is failed ``dead_lettered`` without parsing its
  document (which may be what poisoned it) and ``job.failed`` goes out (webhooks fire);
- an upload notification: the upload's job is failed the same way — created failed if intake
  never recorded it, so its owner sees the upload failed instead of nothing;
- a job event for the webhooks function: the job's webhook is recorded ``failed``.

Every case writes one CRITICAL log line with ``alert: true``: what the log-based alert pages on.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from . import telemetry, topology
from .errors import ErrorCode
from .event_types import JobFailed
from .events import EventSink
from .jobs import Job, JobStatus, SourceObject, job_id_for
from .lifecycle import Lifecycle
from .logs import fields
from .notifications import UploadNotification
from .pushed import PushedMessage
from .store import JobStore, utcnow

log = logging.getLogger(__name__)
SOURCE = "functions/dead_letters"


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message: which job, whose it was, after how many deliveries."""

    job_id: str | None
    topic: str  # the dead-letter topic it arrived on
    consumer: str  # the consumer that gave up on it (``topology.Subscription.consumer``), "" if unknown
    subscription: str
    delivery_attempt: int
    message_id: str
    upload: SourceObject | None = None  # a dead-lettered upload notification's object

    @classmethod
    def from_message(cls, message: PushedMessage) -> DeadLetter:
        attributes = message.attributes
        source = topology.source_of(message.topic)
        consumer = source.consumer if source else ""
        job_id = attributes.get("job_id")  # set by every publisher of requests and events; the body is a fallback
        if not job_id:
            try:
                job_id = json.loads(message.data).get("job_id")
            except (ValueError, AttributeError):
                job_id = None
        upload = None
        if consumer == topology.subscription("on-upload").consumer:
            try:
                notification = UploadNotification.from_message(message)
            except ValueError:
                notification = None
            if notification is not None:
                upload = notification.object.source
                job_id = job_id_for(upload.bucket, upload.name, upload.generation)
        return cls(
            job_id=str(job_id) if job_id else None,
            topic=message.topic,
            consumer=consumer,
            subscription=str(attributes.get("CloudPubSubDeadLetterSourceSubscription", "")),
            delivery_attempt=int(attributes.get("CloudPubSubDeadLetterSourceDeliveryCount", 0) or 0),
            message_id=message.message_id,
            upload=upload,
        )


class DeadLetterHandler:
    def __init__(self, store: JobStore, events: EventSink, job_ttl_days: int) -> None:
        self.store = store
        self.lifecycle = Lifecycle(store, events, SOURCE)
        self.job_ttl_days = job_ttl_days

    def handle(self, letter: DeadLetter) -> bool:
        """End the letter's job (or its webhook); True when this call failed a job."""
        telemetry.DEAD_LETTERS.add(1, {"topic": letter.topic})
        message = f"its message failed on every delivery ({letter.delivery_attempt}) and was dead-lettered"
        error = {"code": ErrorCode.DEAD_LETTERED.value, "message": message}
        failed = False
        if letter.consumer == topology.subscription("webhooks").consumer:
            if letter.job_id:
                self._webhook_failed(letter.job_id, message)
        elif letter.job_id:
            failed = self.lifecycle.force_fail(letter.job_id, ErrorCode.DEAD_LETTERED, message)
            if not failed and letter.upload is not None:
                failed = self._record_failed_upload(letter.upload, error)
        log.critical(
            "message dead-lettered",
            extra=fields(
                alert=True,
                job_id=letter.job_id,
                code=ErrorCode.DEAD_LETTERED.value,
                topic=letter.topic,
                consumer=letter.consumer,
                subscription=letter.subscription,
                delivery_attempt=letter.delivery_attempt,
                message_id=letter.message_id,
                job_failed=failed,
            ),
        )
        return failed

    def _record_failed_upload(self, source: SourceObject, error: dict[str, str], now: datetime | None = None) -> bool:
        """An upload intake never recorded (or deleted since): a failed job its owner can see."""
        job = Job.new(source, None, now or utcnow(), self.job_ttl_days, status=JobStatus.FAILED)
        if self.store.deleted_owner(job.job_id) is not None:
            return False
        job.error = error
        stored, created = self.store.create(job)
        if created:  # created failed: its creation was the transition
            self.lifecycle.created(stored, JobFailed(error["code"], error["message"]))
        return created

    def _webhook_failed(self, job_id: str, message: str) -> None:
        job = self.store.get(job_id)
        if job is None or not (job.options and job.options.webhook) or job.webhook_settled:
            return
        self.store.record_webhook(job_id, "failed", 0, None, message)
