"""Cloud Function (gen2, push subscription ``notes`` on ``notes-requests``): notes for a transcribed job.

A function rather than a Cloud Run job: notes are I/O-bound (an LLM call or a few milliseconds of
extractive ranking), short, and arrive one per job, so per-message scaling to zero fits; no GPU
and no model load to amortise. Returning acknowledges; raising asks Pub/Sub to redeliver.
"""

from __future__ import annotations

import functools
import logging

import functions_framework
from cloudevents.http import CloudEvent

from mixscribe import gcp
from mixscribe.config import Settings
from mixscribe.events import PubSubEventSink
from mixscribe.logs import fields, setup_logging
from mixscribe.notes.circuit import CircuitBreaker
from mixscribe.notes.llm import LLMConfig, NotesLLM
from mixscribe.notes.service import NotesService
from mixscribe.notes.step import NotesCache, NotesStep
from mixscribe.pushed import PubSubFunction, PushedMessage
from mixscribe.store import JobStore
from mixscribe.work_requests import NotesRequest

setup_logging("notes")
log = logging.getLogger("notes")


@functools.lru_cache(maxsize=1)
def notes_step() -> NotesStep:
    """Clients and the circuit breaker are built once per instance and shared by its requests."""
    settings = Settings.from_env()
    config = LLMConfig.from_settings(settings)
    breaker = CircuitBreaker(config.breaker_failures, config.breaker_reset_s)
    documents = gcp.documents(settings)
    publisher = gcp.publisher_client()
    return NotesStep(
        settings=settings,
        store=JobStore(documents),
        blobs=gcp.blobs(settings),
        events=PubSubEventSink(publisher, settings.topic_path(settings.events_topic)),
        service=NotesService(config, NotesLLM(config, breaker)),
        cache=NotesCache(documents),
    )


def _handle(request: NotesRequest, message: PushedMessage) -> None:
    job = notes_step().handle(request.job_id, force=request.force)
    if job is not None:
        log.info("notes request handled", extra=fields(job_id=job.job_id, status=job.status.value))


HANDLER = PubSubFunction(
    "notes", lambda message: NotesRequest.from_json(message.data), _handle, span="notes", job_id=lambda r: r.job_id
)


@functions_framework.cloud_event
def on_notes_request(cloud_event: CloudEvent) -> None:
    HANDLER(cloud_event)
