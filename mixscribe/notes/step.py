"""The notes step of a job: ``transcribed → summarizing → done`` with notes.json and notes.md.

Idempotent: a redelivered request for a finished job is dropped, and LLM results are cached in
Firestore by (transcript hash, prompt version, model), so a retry after a crash reuses them
instead of paying for the same completion twice. ``force`` re-summarises a finished job (used to
replace fallback notes once the LLM is reachable again).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from .. import layout, telemetry
from ..config import Settings
from ..errors import TransitionRefused
from ..event_types import JobCompleted, JobNotesReady
from ..events import EventSink
from ..jobs import Job, JobStatus
from ..lifecycle import Lifecycle
from ..logs import fields
from ..ports import Blobs, Documents
from ..store import JobStore
from .llm import Usage
from .schema import LLM_GENERATOR, PROMPT_VERSION, SCHEMA_VERSION, render_markdown
from .service import NotesResult, NotesService, transcript_lines

log = logging.getLogger(__name__)
SOURCE = "functions/notes"
CACHE = "notes_cache"


class NotesCache:
    """LLM notes by content key in the documents ``notes_cache/{key}``."""

    def __init__(self, documents: Documents) -> None:
        self.documents = documents

    def get(self, key: str) -> NotesResult | None:
        doc = self.documents.get(f"{CACHE}/{key}")
        if doc is None:
            return None
        return NotesResult(
            notes=doc["notes"],
            generator=doc["generator"],
            model=doc["model"],
            usage=Usage(**doc["usage"]),
            cost_usd=doc["cost_usd"],
            chunks=doc["chunks"],
        )

    def put(self, key: str, result: NotesResult) -> None:
        doc = {**asdict(result), "prompt_version": PROMPT_VERSION, "created_at": datetime.now(UTC)}
        self.documents.set(f"{CACHE}/{key}", doc)


def content_key(transcript: dict[str, Any], model: str) -> tuple[str, str]:
    """(transcript hash, cache key of transcript hash + prompt version + model)."""
    transcript_sha = hashlib.sha256("\n".join(transcript_lines(transcript)).encode()).hexdigest()
    key = hashlib.sha256(f"{transcript_sha}|{PROMPT_VERSION}|{model}".encode()).hexdigest()
    return transcript_sha, key


class NotesStep:
    def __init__(
        self, settings: Settings, store: JobStore, blobs: Blobs, events: EventSink, service: NotesService, cache: NotesCache
    ) -> None:
        self.settings = settings
        self.store = store
        self.blobs = blobs
        self.lifecycle = Lifecycle(store, events, SOURCE)
        self.service = service
        self.cache = cache

    def handle(self, job_id: str, force: bool = False) -> Job | None:
        job = self.store.get(job_id)
        if job is None:
            log.warning("notes request for an unknown job dropped", extra=fields(job_id=job_id))
            return None
        resummarize = force and job.status is JobStatus.DONE and "json" in job.outputs
        if job.status is JobStatus.TRANSCRIBED:
            try:
                job = self.lifecycle.move(job_id, JobStatus.SUMMARIZING)
            except TransitionRefused:
                return self.store.get(job_id)
        elif job.status is not JobStatus.SUMMARIZING and not resummarize:
            log.info("notes request dropped", extra=fields(job_id=job_id, status=job.status.value))
            return job
        transcript = json.loads(self.blobs.read(self.settings.results_bucket, layout.transcript_path(job_id, "json")))
        result, transcript_sha, cache_hit = self._notes(transcript)
        outputs = self._write(job_id, transcript_sha, result)
        ready = JobNotesReady(
            generator=result.generator,
            model=result.model,
            prompt_version=PROMPT_VERSION,
            usage=asdict(result.usage),
            cost_usd=result.cost_usd,
            cache_hit=cache_hit,
            fallback_reason=result.fallback_reason,
            outputs=outputs,
        )
        summary = {key: value for key, value in ready.attributes().items() if key != "outputs"}
        discriminator = f"{result.generator}:{transcript_sha[:12]}"
        values = {"outputs": {**job.outputs, **outputs}, "notes": summary}
        if resummarize:
            self.lifecycle.announce(job_id, values, ready, discriminator)
        else:
            try:
                job = self.lifecycle.move(
                    job_id,
                    JobStatus.DONE,
                    values,
                    ready,
                    JobCompleted(JobStatus.DONE.value),
                    discriminators={JobNotesReady.TYPE: discriminator},
                )
            except TransitionRefused:
                return self.store.get(job_id)
        log.info("notes written", extra=fields(job_id=job_id, generator=result.generator, cache_hit=cache_hit))
        return self.store.get(job_id)

    def _notes(self, transcript: dict[str, Any]) -> tuple[NotesResult, str, bool]:
        transcript_sha, key = content_key(transcript, self.service.config.model)
        cached = self.cache.get(key)
        if cached is not None:
            return cached, transcript_sha, True
        started = time.monotonic()
        with telemetry.span("notes.generate", **{"gen_ai.request.model": self.service.config.model}):
            result = self.service.summarize(transcript)
        telemetry.STAGE_SECONDS.record(time.monotonic() - started, {"stage": "notes"})
        if result.usage.prompt_tokens or result.usage.completion_tokens:
            telemetry.LLM_TOKENS.add(result.usage.prompt_tokens, {"kind": "prompt", "model": result.model})
            telemetry.LLM_TOKENS.add(result.usage.completion_tokens, {"kind": "completion", "model": result.model})
        if result.generator == LLM_GENERATOR:
            self.cache.put(key, result)
        else:
            telemetry.NOTES_FALLBACKS.add(1, {"generator": result.generator})
        return result, transcript_sha, False

    def _write(self, job_id: str, transcript_sha: str, result: NotesResult) -> dict[str, str]:
        document = {
            "job_id": job_id,
            "generator": result.generator,
            "model": result.model,
            "schema_version": SCHEMA_VERSION,
            "prompt_version": PROMPT_VERSION,
            "transcript_sha256": transcript_sha,
            "usage": asdict(result.usage),
            "cost_usd": result.cost_usd,
            "chunks": result.chunks,
            "fallback_reason": result.fallback_reason,
            "notes": result.notes,
        }
        bodies = {
            "notes_json": (
                layout.notes_path(job_id, "json"),
                json.dumps(document, indent=2, ensure_ascii=False),
                "application/json",
            ),
            "notes_md": (
                layout.notes_path(job_id, "md"),
                render_markdown(result.notes, result.generator),
                "text/markdown; charset=utf-8",
            ),
        }
        outputs = {}
        for name, (path, body, content_type) in bodies.items():
            self.blobs.write(self.settings.results_bucket, path, body.encode("utf-8"), content_type)
            outputs[name] = layout.gs_uri(self.settings.results_bucket, path)
        return outputs
