"""The notes step (``functions/notes``' use case) on the ports' fakes, with no LLM configured (fallback)."""

from __future__ import annotations

import json

from mixscribe import layout
from mixscribe.config import Settings
from mixscribe.jobs import Job, JobOptions, JobStatus, SourceObject
from mixscribe.notes.circuit import CircuitBreaker
from mixscribe.notes.llm import LLMConfig, NotesLLM
from mixscribe.notes.service import NotesService
from mixscribe.notes.step import NotesCache, NotesStep
from mixscribe.store import JobStore, utcnow
from tests.conftest import SAMPLE_TEXT
from tests.fakes import FakeBlobs, FakeDocuments, FakeEventSink

SETTINGS = Settings.from_env({}, upload_bucket="uploads", results_bucket="results", llm_api_key="")


def test_a_transcribed_job_gets_fallback_notes_once_and_is_done():
    documents, blobs, events = FakeDocuments(), FakeBlobs(), FakeEventSink()
    store = JobStore(documents)
    config = LLMConfig.from_settings(SETTINGS)
    step = NotesStep(
        SETTINGS, store, blobs, events, NotesService(config, NotesLLM(config, CircuitBreaker(3, 60))), NotesCache(documents)
    )
    job = Job.new(SourceObject("uploads", "users/alice/m.flac", 1, 10, "audio/flac"), JobOptions(model="tiny.en"), utcnow(), 1)
    store.create(job)
    sentences = [s.strip() + "." for s in SAMPLE_TEXT.split(".") if s.strip()]
    segments = [{"id": i, "start": 4.0 * i, "end": 4.0 * i + 3.5, "text": s} for i, s in enumerate(sentences)]
    transcript_path = layout.transcript_path(job.job_id, "json")
    blobs.write("results", transcript_path, json.dumps({"segments": segments}).encode(), "application/json")
    store.transition(job.job_id, JobStatus.TRANSCRIBED, {"outputs": {"json": layout.gs_uri("results", transcript_path)}})

    done = step.handle(job.job_id)
    assert done is not None and done.status is JobStatus.DONE
    assert sorted(done.outputs) == ["json", "notes_json", "notes_md"]
    notes = [json.loads(body) for (bucket, name), (body, _, _) in blobs.objects.items() if name.endswith("notes.json")]
    assert len(notes) == 1 and notes[0]["generator"] != "llm" and notes[0]["fallback_reason"]
    assert events.types(job.job_id) == ["job.notes_ready", "job.completed"]
    assert step.handle(job.job_id).status is JobStatus.DONE  # a redelivered request changes nothing
    assert events.types(job.job_id) == ["job.notes_ready", "job.completed"]
