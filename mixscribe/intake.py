"""Turning a finalized upload into a job: validate, probe, record, publish, dispatch.

``Intake.handle`` is idempotent per object generation: a redelivered event finds the job by its
deterministic id and only finishes what an earlier delivery left undone (publishing, dispatch).
Bad uploads become ``failed`` jobs with a stable code and an ``upload.rejected`` event; they never
raise, so the trigger never retries them. Dependency outages raise, so the trigger retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from . import telemetry
from .config import Settings
from .dispatch import QueueDispatch
from .errors import ErrorCode, PermanentError, TransientError
from .event_types import JobCompleted, JobQueued, JobTranscribed, UploadRejected
from .events import EventSink
from .glossary import Glossaries
from .jobs import METRICS_SUMMARY_KEYS, Job, JobOptions, JobStatus, SourceObject, routing_record
from .lifecycle import Lifecycle
from .logs import fields
from .notifications import StorageObjectData
from .ports import BlobMissing, Blobs, Publisher
from .probe import probe_stream
from .rollouts import Rollouts
from .store import JobStore, utcnow
from .transcript_cache import TranscriptCache
from .uploads import requested_model, validate_upload
from .work_requests import NotesRequest, TranscriptionRequest, publish_notes_request, publish_request

log = logging.getLogger(__name__)
PROBE_CHUNK_BYTES = 256 * 1024
SOURCE = "functions/on_upload"
PUBLISH_LEASE_S = 20


class Intake:
    """The upload-handling use case behind ``functions/on_upload``."""

    def __init__(
        self,
        settings: Settings,
        store: JobStore,
        blobs: Blobs,
        publisher: Publisher,
        events: EventSink,
        dispatcher: QueueDispatch | None,
        cache: TranscriptCache | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.blobs = blobs
        self.publisher = publisher
        self.lifecycle = Lifecycle(store, events, SOURCE)
        self.dispatcher = dispatcher
        self.cache = cache  # the result cache; None: every upload is transcribed
        self.glossaries = Glossaries(store.documents)
        self.rollouts = Rollouts(store.documents, settings.models(), settings.rollout_cache_s)

    def handle(self, obj: StorageObjectData, event_time: datetime | None = None, traceparent: str | None = None) -> Job | None:
        """Process one finalize event; returns the job, or ``None`` when the event is ignored.

        The span joins the job's trace when the job exists (a redelivery), else the trace the
        uploader started (``traceparent`` object metadata, set by the API) or the event's own.
        """
        source = obj.source
        if source.bucket != self.settings.upload_bucket:
            log.warning("event for another bucket ignored", extra=fields(bucket=source.bucket))
            return None
        if event_time is not None and utcnow() - event_time > timedelta(seconds=self.settings.event_max_age_s):
            log.warning("stale event dropped", extra=fields(object=source.uri, event_time=event_time))
            return None
        job = Job.new(source, None, utcnow(), self.settings.job_ttl_days)
        existing = self.store.get(job.job_id)
        parent = (existing.trace if existing else None) or telemetry.traceparent_from(obj.metadata) or traceparent
        started = time.monotonic()
        with telemetry.span("intake", parent, **{"mixscribe.job_id": job.job_id, "gcs.object": source.uri}):
            handled = self._handle(obj, job, existing)
            if handled is not None:
                log.info("upload handled", extra=fields(job_id=handled.job_id, status=handled.status.value))
        telemetry.STAGE_SECONDS.record(time.monotonic() - started, {"stage": "intake"})
        if handled is not None and handled.status is JobStatus.QUEUED and handled.options is not None:
            with telemetry.span("dispatch", parent):  # its own span: a window's trailing top-up waits the debounce
                self.dispatch(handled.options.priority)
        return handled

    def _handle(self, obj: StorageObjectData, job: Job, existing: Job | None) -> Job | None:
        source = obj.source
        if existing is not None:
            return self._resume(existing)
        if self.store.deleted_owner(job.job_id) is not None:
            log.info("event for a deleted job ignored", extra=fields(job_id=job.job_id, object=source.uri))
            return None
        job.trace = telemetry.current_traceparent()
        try:
            job.options = validate_upload(source.name, source.content_type, source.size, obj.metadata, self.settings)
            job.options = self._enrol(job.owner, job.options, obj.metadata)
            job.options = replace(job.options, glossary=self.glossaries.get(job.owner))
            job.probe = self._probe(source)  # a rejected job keeps its options: its webhook still fires
        except PermanentError as err:
            return self._reject(job, err)
        probe = job.probe
        stored, created = self.store.create(job)
        if created:
            log.info("job queued", extra=fields(job_id=job.job_id, object=source.uri, duration_s=probe["duration_s"]))
        return self._resume(stored)

    def _enrol(self, owner: str, options: JobOptions, metadata: Mapping[str, str] | None) -> JobOptions:
        """Place an upload that names no model in its priority's rollout arm, if there is one."""
        if requested_model(metadata):
            return options  # who asks for a model gets it
        assignment = self.rollouts.assign(owner, options.priority, options.language)
        if assignment is None:
            return options
        return replace(options, model=assignment.model, arm=assignment.label)

    def _probe(self, source: SourceObject) -> dict[str, Any]:
        try:
            with self.blobs.open(source.bucket, source.name, source.generation, PROBE_CHUNK_BYTES) as reader:
                return probe_stream(reader, self.settings.max_duration_s).to_dict()
        except BlobMissing as exc:
            raise PermanentError(ErrorCode.SOURCE_MISSING, "the object was deleted or replaced") from exc

    def _reject(self, job: Job, err: PermanentError) -> Job:
        job.status = JobStatus.FAILED
        job.error = {"code": err.code.value, "message": err.message}
        stored, created = self.store.create(job)
        if created:
            log.warning(
                "upload rejected",
                extra=fields(job_id=job.job_id, object=job.source.uri, code=err.code.value, reason=err.message),
            )
            self.lifecycle.created(stored, UploadRejected(err.code.value, err.message, job.source.uri, job.owner))
        return stored

    def _resume(self, job: Job) -> Job:
        """Publish a queued job's request (again, if an earlier delivery stopped half-way)."""
        if job.status is not JobStatus.QUEUED or job.options is None:
            return job
        if job.published_at is None:
            if self.store.begin_publish(job.job_id, PUBLISH_LEASE_S):
                return self._publish(job)
            else:
                self._await_published(job.job_id)
        return job

    def _await_published(self, job_id: str) -> None:
        """Another delivery is publishing this job: wait for it, or ask for a retry."""
        deadline = time.monotonic() + PUBLISH_LEASE_S
        while time.monotonic() < deadline:
            job = self.store.get(job_id)
            if job is None or job.published_at is not None or job.status is not JobStatus.QUEUED:
                return
            time.sleep(0.2)
        raise TransientError(f"job {job_id} is still being published by another delivery")

    def _publish(self, job: Job) -> Job:
        """Queue the job's request, or answer it at once from the result cache; the job as it now is."""
        assert job.options is not None
        if self.cache is not None and (finished := self._from_cache(job)) is not None:
            return finished
        audio_s = (job.probe or {}).get("duration_s")
        source = job.source
        request = TranscriptionRequest(job.job_id, source.bucket, source.name, source.generation, job.options, audio_s=audio_s)
        topic = self.settings.request_topic(job.options.priority)  # its priority's own queue
        publish_request(self.publisher, topic, request.to_json(), job.job_id)
        self.store.update_fields(job.job_id, {"published_at": utcnow()})
        self._announce_queued(job)
        return job

    def _announce_queued(self, job: Job) -> None:
        """``job.queued``, stamped with the job's creation (its transition to queued): no ``job.started`` precedes it."""
        assert job.options is not None
        self.lifecycle.created(job, JobQueued(job.owner, job.source.uri, job.source.size, job.options.public_dict(), job.probe))

    def _from_cache(self, job: Job) -> Job | None:
        """The job finished with copies of an earlier transcript of the same bytes and owner (``None``: a miss)."""
        assert job.options is not None and self.cache is not None
        hit = self.cache.reuse(job)
        if hit is None:
            return None
        options = job.options
        self._announce_queued(job)
        summary = {key: hit.metrics.get(key) for key in METRICS_SUMMARY_KEYS}
        summary["real_time_factor"] = None  # no model ran
        status = JobStatus.TRANSCRIBED if options.notes else JobStatus.DONE
        transcribed = JobTranscribed(
            **summary,
            loudness_lufs=hit.metrics.get("loudness_lufs"),
            clipping_ratio=hit.metrics.get("clipping_ratio"),
            outputs=hit.outputs,
            cache_hit=True,
            model=options.model,
            arm=options.arm or None,
        )
        completed = (JobCompleted(status.value),) if status is JobStatus.DONE else ()
        values = {
            "outputs": hit.outputs,
            "metrics": summary,
            "cache_hit": {"job_id": hit.earlier_job_id},
            "routing": routing_record(options, None),  # no job ran it
            "published_at": utcnow(),
        }
        # straight from queued (stages may be skipped): a crash before this leaves it queued, and the
        # redelivered notification takes this path again (the copies are simply written again)
        finished = self.lifecycle.move(job.job_id, status, values, transcribed, *completed)
        if options.notes:
            publish_notes_request(self.publisher, self.settings, NotesRequest(job.job_id))
        return finished

    def dispatch(self, priority: str) -> None:
        """Size an execution of the priority's job to its backlog (``mixscribe.dispatch``), unless workers
        start some other way."""
        if self.dispatcher is not None:
            self.dispatcher.dispatch(priority)
