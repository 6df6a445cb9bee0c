"""Notes on the local stack: LLM notes, no second LLM call on redelivery, fallback then re-summarise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from mixscribe.config import Settings
from mixscribe.notes.schema import validate_notes
from mixscribe.work_requests import NotesRequest, publish_notes_request
from tests.conftest import REPO


def _notes_json(stack, job_id: str) -> dict:
    return json.loads(stack.results.blob(f"jobs/{job_id}/notes.json").download_as_text())


def test_llm_notes_then_redelivery_does_not_call_the_llm_again(stack, llm_server, audio_dir):
    stack.wait_idle()
    llm_server.reset()
    stack.drain_events(wait_s=0.2)
    # A transcript no other test produces, so the notes cache (shared by content) is cold.
    _, job_id = stack.upload(audio_dir / "second_sentence.flac", "users/erin/llm.flac")
    doc = stack.wait(job_id)
    assert doc["status"] == "done" and doc["notes"]["generator"] == "llm"
    assert doc["notes"]["usage"]["requests"] == 1 and doc["notes"]["cost_usd"] > 0
    notes = _notes_json(stack, job_id)
    validate_notes(notes["notes"])
    assert notes["prompt_version"] and notes["schema_version"] == "notes.v1" and len(notes["transcript_sha256"]) == 64
    assert stack.results.blob(f"jobs/{job_id}/notes.md").download_as_text().startswith("# Notes:")
    assert notes["notes"]["action_items"] == [{"task": "send the final report", "owner": "Maria", "due": "Friday"}]
    calls = len(llm_server.requests)
    assert calls == 1
    publisher_settings = Settings.from_env()
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    publish_notes_request(publisher, publisher_settings, NotesRequest(job_id))  # a redelivered request
    publish_notes_request(publisher, publisher_settings, NotesRequest(job_id, force=True))  # re-summarise: cached
    time.sleep(3)
    assert len(llm_server.requests) == calls
    after = stack.job(job_id)
    assert after["status"] == "done" and after["notes"]["cache_hit"] is True
    ready = [e for e in stack.drain_events() if e["type"] == "job.notes_ready" and e["job_id"] == job_id]
    assert ready and ready[0]["attributes"]["usage"]["requests"] == 1 and ready[0]["attributes"]["cost_usd"] > 0
    assert len({e["event_id"] for e in ready}) == 1  # the cached re-summary re-emits the same event id


def test_fallback_notes_can_be_resummarised_with_one_command(stack, llm_server, audio_dir):
    stack.wait_idle()
    llm_server.reset()
    llm_server.queue({"status": 500}, {"status": 500})  # both attempts of this job's notes fail
    # A transcript the notes cache has not seen: the first sentence of the sample only.
    _, job_id = stack.upload(audio_dir / "first_sentence.flac", "users/erin/fallback.flac")
    doc = stack.wait(job_id)
    assert doc["status"] == "done" and doc["notes"]["generator"] == "extractive-fallback"
    assert "500" in doc["notes"]["fallback_reason"]
    fallback = _notes_json(stack, job_id)
    assert fallback["generator"] == "extractive-fallback"
    assert "planning meeting" in fallback["notes"]["key_points"][0]["text"].lower()
    env = {**os.environ, **stack.env}
    proc = subprocess.run(
        [sys.executable, "-m", "mixscribe.notes", "resummarize", "--all-fallback"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and job_id in proc.stdout, proc.stderr
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and stack.job(job_id)["notes"]["generator"] != "llm":
        time.sleep(0.2)
    after = stack.job(job_id)
    assert after["status"] == "done" and after["notes"]["generator"] == "llm"
    assert _notes_json(stack, job_id)["generator"] == "llm"
