"""A job's lifecycle, one call per step: the status transition (which refuses to go backwards), the
typed event reporting it, stamped with the transition's own time, and its metric (the store counts
every transition). No lifecycle event is emitted apart from its transition, so the events' time
order never contradicts the statuses'."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .errors import ErrorCode, TransitionRefused
from .event_types import EventBody, JobFailed, JobStarted
from .events import EventSink, make_event
from .jobs import Job, JobStatus
from .logs import fields
from .progress import FIELD as PROGRESS
from .store import Claim, ClaimOutcome, JobStore, utcnow

log = logging.getLogger(__name__)


class Lifecycle:
    """Moves jobs in ``store`` and reports each move to ``events`` as ``source``."""

    def __init__(self, store: JobStore, events: EventSink, source: str) -> None:
        self.store = store
        self.events = events
        self.source = source

    def _emit(self, job_id: str, bodies: tuple[EventBody, ...], at: datetime, discriminators: Mapping[str, str]) -> None:
        for body in bodies:
            self.events.emit(make_event(body, job_id, self.source, discriminators.get(body.TYPE, ""), now=at))

    def created(self, job: Job, body: EventBody) -> None:
        """Report a job just created (``job.queued``, or ``upload.rejected`` for one created failed):
        the creation was its transition, so the event carries the job's ``created_at``."""
        self._emit(job.job_id, (body,), job.created_at, {})

    def move(
        self,
        job_id: str,
        status: JobStatus,
        values: dict[str, Any] | None = None,
        *bodies: EventBody,
        discriminators: Mapping[str, str] | None = None,
    ) -> Job:
        """Transition ``job_id`` to ``status`` (with ``values``) and emit ``bodies`` at the transition's
        time; ``TransitionRefused`` (nothing emitted) when the job is past ``status`` or gone."""
        at = utcnow()
        job = self.store.transition(job_id, status, values, now=at)
        self._emit(job_id, bodies, at, discriminators or {})
        return job

    def announce(
        self, job_id: str, values: dict[str, Any], body: EventBody, discriminator: str = "", now: datetime | None = None
    ) -> None:
        """Record ``values`` without a status change and emit ``body`` at the same time (re-made notes)."""
        at = now or utcnow()
        self.store.update_fields(job_id, values, now=at)
        self._emit(job_id, (body,), at, {body.TYPE: discriminator})

    def start(self, job_id: str, worker: str, lease_s: int, max_attempts: int, values: dict[str, Any] | None = None) -> Claim:
        """Claim a job for transcription (recording ``values`` with the claim) and emit ``job.started`` at
        the claim's time; past ``max_attempts`` claims the job fails instead (``EXHAUSTED``)."""
        at = utcnow()
        claim = self.store.claim(job_id, worker, lease_s, now=at, values=values)
        if claim.outcome is not ClaimOutcome.CLAIMED:
            return claim
        assert claim.job is not None
        if claim.job.attempts > max_attempts:
            self.give_up(job_id, max_attempts)
            return Claim(ClaimOutcome.EXHAUSTED, claim.job)
        self._emit(job_id, (JobStarted(claim.job.attempts, worker),), at, {JobStarted.TYPE: str(claim.job.attempts)})
        return claim

    def give_up(self, job_id: str, max_attempts: int, **context: Any) -> None:
        """The one attempts rule's end, for a job or one of its pieces: fail it ``retries_exhausted``, alert."""
        self.fail(job_id, ErrorCode.RETRIES_EXHAUSTED, f"gave up after {max_attempts} attempts")
        log.critical("job failed after exhausting retries", extra=fields(job_id=job_id, alert=True, **context))

    def fail(self, job_id: str, code: ErrorCode, message: str) -> bool:
        """Fail a job that is not terminal; False when it is terminal or gone."""
        try:
            self.move(
                job_id,
                JobStatus.FAILED,
                {"error": {"code": code.value, "message": message}, PROGRESS: None},  # no partial text outlives the job
                JobFailed(code.value, message),
            )
        except TransitionRefused:
            return False
        log.warning("job failed", extra=fields(job_id=job_id, code=code.value, reason=message))
        return True

    def force_fail(self, job_id: str, code: ErrorCode, message: str) -> bool:
        """Fail a job without parsing its document (it may be what poisoned a request)."""
        at = utcnow()
        if not self.store.force_fail(job_id, {"code": code.value, "message": message}, now=at):
            return False
        self._emit(job_id, (JobFailed(code.value, message),), at, {})
        return True
