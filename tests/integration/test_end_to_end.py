"""An upload through the ordinary GCS client becomes a transcript: real emulators, real model."""

from __future__ import annotations

import json
import re
import time

import jiwer
import pytest
import srt
import webvtt

from tests.conftest import SAMPLE, SAMPLE_TEXT

MAX_WER = 0.15  # tiny.en on the espeak-ng sample measures 0.04 (one word)


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


@pytest.fixture(scope="module")
def finished(stack):
    stack.drain_events(wait_s=0.5)
    blob, job_id = stack.upload(SAMPLE, "users/alice/meetings/planning.flac", metadata={"language": "en"})
    uploaded = time.monotonic()
    doc = stack.wait(job_id)
    return {"job_id": job_id, "doc": doc, "blob": blob, "latency_s": time.monotonic() - uploaded}


def test_job_reaches_done_with_every_output(stack, finished):
    doc = finished["doc"]
    assert doc["status"] == "done", doc.get("error")
    assert doc["owner"] == "alice" and doc["attempts"] == 1
    assert doc["source"]["generation"] == finished["blob"].generation
    assert set(doc["outputs"]) == {"json", "srt", "vtt", "txt", "metrics", "notes_json", "notes_md"}
    for uri in doc["outputs"].values():
        assert stack.results.blob(uri.split("/", 3)[3]).exists()


def test_transcript_matches_the_known_text(stack, finished):
    transcript = json.loads(stack.results.blob(f"jobs/{finished['job_id']}/transcript.json").download_as_text())
    error_rate = jiwer.wer(normalise(SAMPLE_TEXT), normalise(transcript["text"]))
    assert error_rate <= MAX_WER, transcript["text"]
    assert transcript["language"] == "en" and transcript["model"] == "tiny.en"
    assert transcript["options"]["vad_filter"] is True and transcript["options"]["beam_size"] == 5
    words = [w for seg in transcript["segments"] for w in seg["words"]]
    assert len(words) >= 20 and all(0 <= w["start"] <= w["end"] <= 8.5 for w in words)


def test_srt_and_vtt_parse(stack, finished, tmp_path):
    prefix = f"jobs/{finished['job_id']}/transcript"
    cues = list(srt.parse(stack.results.blob(prefix + ".srt").download_as_text()))
    assert cues and "budget" in " ".join(c.content for c in cues).lower()
    assert all(c.start < c.end for c in cues)
    path = tmp_path / "t.vtt"
    stack.results.blob(prefix + ".vtt").download_to_filename(str(path))
    captions = webvtt.read(str(path)).captions
    assert len(captions) == len(cues)
    assert stack.results.get_blob(prefix + ".vtt").content_type.startswith("text/vtt")
    assert stack.results.get_blob(prefix + ".srt").content_type.startswith("application/x-subrip")


def test_metrics_are_plausible(stack, finished):
    metrics = json.loads(stack.results.blob(f"jobs/{finished['job_id']}/metrics.json").download_as_text())
    assert metrics["duration_s"] == pytest.approx(8.4, abs=0.05)
    assert (metrics["sample_rate"], metrics["channels"], metrics["codec"]) == (16000, 1, "flac")
    assert -30 < metrics["loudness_lufs"] < -10
    assert metrics["sample_peak_dbfs"] <= metrics["true_peak_dbtp"] + 0.01 <= 0.5
    assert metrics["clipping_ratio"] == 0.0
    assert 0.5 < metrics["speech_ratio"] <= 1.0
    assert 0 < metrics["real_time_factor"] < 2
    assert metrics["word_count"] >= 20
    assert set(metrics["timings"]) >= {"download_s", "decode_s", "transcribe_s", "write_s", "total_s"}


def test_lifecycle_events_once_each(stack, finished):
    events = [e for e in stack.drain_events() if e["job_id"] == finished["job_id"]]
    types = sorted(e["type"] for e in events)
    assert types == ["job.completed", "job.notes_ready", "job.queued", "job.started", "job.transcribed"]
    in_time_order = [e["type"] for e in sorted(events, key=lambda e: e["occurred_at"])]
    assert in_time_order == ["job.queued", "job.started", "job.transcribed", "job.notes_ready", "job.completed"]
    for event in events:
        assert event["schema_version"] == 1 and event["source"] and event["occurred_at"]
    transcribed = next(e for e in events if e["type"] == "job.transcribed")
    assert transcribed["attributes"]["word_count"] >= 20
