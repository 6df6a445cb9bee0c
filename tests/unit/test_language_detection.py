"""``language=auto`` over windows across the file, and English routed to the registry's English-only model
(the real multilingual ``base`` model of the local registry, the use case on the ports' fakes)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mixscribe import layout
from mixscribe.audio import MODEL_RATE
from mixscribe.config import Settings
from mixscribe.jobs import Job, JobOptions, JobStatus, SourceObject
from mixscribe.store import JobStore, utcnow
from mixscribe.transcription import Transcription
from mixscribe.transcription.engine import ModelCache
from mixscribe.transcription.languages import detect_language, window_starts
from mixscribe.transcription.outcome import Outcome, TaskIdentity
from mixscribe.work_requests import TranscriptionRequest
from tests.conftest import REPO, SAMPLE, ffmpeg
from tests.fakes import FakeBlobs, FakeDocuments, FakeEventSink, FakePublisher

SETTINGS = Settings.from_env({}, upload_bucket="uploads", results_bucket="results")
GERMAN = REPO / "samples" / "haushalt.de.opus"  # espeak-ng's German voice (samples/haushalt.de.txt)
ENGLISH = REPO / "samples" / "standup.opus"


def test_windows_spread_from_the_start_to_the_last_full_span():
    assert window_starts(45.0) == [0.0]
    assert window_starts(150.0) == [0.0, 45.0, 90.0]
    assert window_starts(3600.0) == [0.0, 885.0, 1770.0, 2655.0, 3540.0]


def decode(path, tmp_path) -> np.ndarray:
    raw = tmp_path / f"{path.stem}.f32"
    ffmpeg("-i", str(path), "-ac", "1", "-ar", str(MODEL_RATE), "-f", "f32le", str(raw))
    return np.fromfile(raw, dtype=np.float32)


@pytest.fixture(scope="module")
def models() -> ModelCache:
    return ModelCache(SETTINGS)


def test_an_english_opening_does_not_decide_a_german_recording(models, tmp_path):
    """40 s of English, then two minutes of German: the first window says English (what Whisper's own
    detection, from the first 30 s of speech, goes by); the file says German."""
    english, german = decode(ENGLISH, tmp_path), decode(GERMAN, tmp_path)
    samples = np.concatenate([english[: 40 * MODEL_RATE], *[german] * 8])
    detection = detect_language(models.get("base"), samples, "base")
    assert detection is not None and detection.language == "de" and detection.probability > 0.5
    assert detection.windows[0].language == "en" and len(detection.windows) == 3
    assert [w.language for w in detection.windows[1:]] == ["de", "de"]


def run_job(models, path, content_type, options):
    documents, blobs, publisher, events = FakeDocuments(), FakeBlobs(), FakePublisher(), FakeEventSink()
    store = JobStore(documents)
    generation = blobs.put("uploads", f"users/alice/{path.name}", path.read_bytes(), content_type)
    source = SourceObject("uploads", f"users/alice/{path.name}", generation, path.stat().st_size, content_type)
    job, _ = store.create(Job.new(source, options, utcnow(), 1))
    request = TranscriptionRequest(job.job_id, "uploads", source.name, generation, options)
    pipeline = Transcription(SETTINGS, store, blobs, publisher, events, models, TaskIdentity(0, 1, 0, "unit"), max_attempts=3)
    assert pipeline.process(request.to_json()) is Outcome.DONE
    stored = store.get(job.job_id)
    assert stored is not None and stored.status is JobStatus.DONE, stored and stored.error
    transcript = json.loads(blobs.read("results", layout.transcript_path(job.job_id, "json")))
    return stored, transcript


def test_english_under_a_multilingual_model_moves_to_the_english_only_model(models):
    stored, transcript = run_job(models, SAMPLE, "audio/flac", JobOptions(model="base", notes=False))
    assert stored.routing == {"job": None, "model": "tiny.en", "priority": "normal", "requested_model": "base"}
    assert transcript["model"] == "tiny.en" and transcript["language"] == "en"
    detection = transcript["options"]["language_detection"]
    assert detection["model"] == "base" and detection["routed_to"] == "tiny.en" and detection["language"] == "en"
    assert transcript["language_probability"] == detection["probability"] > 0.8
    assert "planning meeting" in " ".join(s["text"] for s in transcript["segments"]).lower()


def test_german_stays_on_the_multilingual_model_and_is_transcribed_in_german(models):
    stored, transcript = run_job(models, GERMAN, "audio/ogg", JobOptions(model="base", notes=False))
    assert stored.routing == {"job": None, "model": "base", "priority": "normal"}
    assert transcript["language"] == "de" and transcript["options"]["language_detection"]["routed_to"] is None
    text = " ".join(s["text"] for s in transcript["segments"]).lower()
    assert "haushalt" in text and "freitag" in text


def test_a_named_language_skips_detection(models):
    _, transcript = run_job(models, SAMPLE, "audio/flac", JobOptions(model="base", language="en", notes=False))
    assert transcript["model"] == "base" and "language_detection" not in transcript["options"]
