"""Crashes and outages: a task SIGKILLed mid-file, Pub/Sub and Firestore frozen mid-run, a poison
request, and stale events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from mixscribe.gcp.firestore_documents import FirestoreDocuments
from mixscribe.jobs import Job, JobOptions, SourceObject
from mixscribe.store import JobStore, utcnow
from mixscribe.work_requests import TranscriptionRequest
from tests.conftest import SAMPLE
from tests.support.storage_events import deliver, storage_event

from .helpers import stack_processes, wait_all


def minute_of_speech(tmp: Path) -> Path:
    out = tmp / "minute.flac"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-stream_loop", "7", "-i", str(SAMPLE), "-t", "60", str(out)], check=True
    )
    return out


def log_entries(stack, component_file: str) -> list[dict]:
    entries = []
    for path in (stack.root / "logs").rglob(component_file):
        entries += [json.loads(line) for line in path.read_text(errors="replace").splitlines() if line.startswith("{")]
    return entries


def test_task_killed_mid_file_is_redelivered_and_completes_once(rstack, tmp_path, report):
    rstack.drain_events(wait_s=0.2)
    blob, job_id = rstack.upload(minute_of_speech(tmp_path), f"users/crash-{uuid.uuid4().hex[:6]}/minute.flac")
    rstack.wait(job_id, ("transcribing",), timeout_s=120)
    time.sleep(1.5)  # into the model pass
    tasks = stack_processes(rstack.env, service="CLOUD_RUN_EXECUTION=")
    assert tasks, "no transcription task process found"
    killed_at = time.monotonic()
    for pid in tasks:
        os.kill(pid, signal.SIGKILL)
    seen_outputs_early = []
    while True:  # readers never see outputs before the job moves on
        doc = rstack.job(job_id)
        if doc["status"] in ("queued", "transcribing"):
            seen_outputs_early.append(bool(doc.get("outputs")))
        if doc["status"] in ("done", "failed") or time.monotonic() - killed_at > 240:
            break
        time.sleep(0.3)
    recovered_s = time.monotonic() - killed_at
    events = [e for e in rstack.drain_events() if e["job_id"] == job_id]
    transcribed = [e for e in events if e["type"] == "job.transcribed"]
    report["sigkill"] = {
        "killed_tasks": len(tasks),
        "attempts": doc["attempts"],
        "recovered_s": round(recovered_s, 1),
        "transcribed_events": len(transcribed),
        "outputs_visible_early": any(seen_outputs_early),
    }
    assert doc["status"] == "done", doc.get("error")
    assert doc["attempts"] == 2 and len(transcribed) == 1 and not any(seen_outputs_early)
    assert [e["attributes"]["attempt"] for e in events if e["type"] == "job.started"] == [1, 2]


def _group(stack, name: str) -> int:
    return json.loads((stack.root / "stack.json").read_text())["groups"][name]


def freeze(stack, emulator: str, seconds: float = 15) -> None:
    """The emulator stops answering (connections hang) and comes back with its state."""
    group = _group(stack, emulator)
    os.killpg(group, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.killpg(group, signal.SIGCONT)


def restart(stack, emulator: str) -> None:
    """What clients see of a restart: every connection cut, the port refusing for 10 s (fault_proxy.py)."""
    os.killpg(_group(stack, f"{emulator}-proxy"), signal.SIGUSR1)
    time.sleep(10)


def test_pubsub_and_firestore_outages_mid_run_lose_nothing(rstack, short_clip, report):
    prefix = f"users/outage-{uuid.uuid4().hex[:6]}"
    figures = {}
    for fault, emulator in ((freeze, "pubsub"), (freeze, "firestore"), (restart, "pubsub"), (restart, "firestore")):
        name = f"{emulator} {fault.__name__}"
        job_ids = [rstack.upload(short_clip, f"{prefix}/{emulator}-{fault.__name__}-{i}.flac")[1] for i in range(6)]
        deadline = time.monotonic() + 60
        while not all(rstack.job(j) for j in job_ids) and time.monotonic() < deadline:  # all recorded
            time.sleep(0.2)
        started = time.monotonic()
        fault(rstack, emulator)
        docs = wait_all(rstack, job_ids, timeout_s=300)
        figures[name] = {
            "jobs": len(job_ids),
            "done": sum(d["status"] == "done" for d in docs.values()),
            "all_done_after_s": round(time.monotonic() - started, 1),
            "attempts": sorted(d["attempts"] for d in docs.values()),
        }
        assert [d["status"] for d in docs.values()] == ["done"] * len(job_ids), (name, docs)
    report["outages"] = figures


def test_poison_request_is_dead_lettered_and_fails_its_job(rstack, short_clip, report):
    store = JobStore(FirestoreDocuments(rstack.db))
    source = SourceObject(
        rstack.env["MIXSCRIBE_UPLOAD_BUCKET"], f"users/poison/{uuid.uuid4().hex}.flac", 1, 10, "audio/flac", "", ""
    )
    job = Job.new(source, JobOptions(model="tiny.en"), utcnow(), 1)
    store.create(job)
    rstack.db.collection("jobs").document(job.job_id).update({"options.channels": 123})  # unreadable by this version
    from google.cloud import pubsub_v1

    request = TranscriptionRequest(job.job_id, source.bucket, source.name, 1, JobOptions(model="tiny.en"))
    topic = f"projects/{rstack.env['GOOGLE_CLOUD_PROJECT']}/topics/transcribe-requests-normal"
    pubsub_v1.PublisherClient().publish(topic, request.to_json(), job_id=job.job_id).result(timeout=30)
    good = rstack.upload(short_clip, f"users/poison/good-{uuid.uuid4().hex[:6]}.flac")[1]  # dispatches a task too
    failed = rstack.wait(job.job_id, ("failed",), timeout_s=240)
    assert failed["error"]["code"] == "dead_lettered"
    assert rstack.wait(good)["status"] == "done"
    deadline = time.monotonic() + 15  # the alert line follows the job's failure and its event
    while True:
        alerts = [e for e in log_entries(rstack, "dead_letters.log") if e.get("job_id") == job.job_id]
        if alerts or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    crashes = [
        e
        for e in log_entries(rstack, "*.log")
        if e.get("job_id") == job.job_id and e["message"] == "request failed; returned to the queue"
    ]
    report["poison"] = {
        "deliveries_before_dead_letter": len(crashes),
        "code": failed["error"]["code"],
        "alert_severity": alerts[0]["severity"] if alerts else None,
    }
    assert len(alerts) == 1 and alerts[0]["severity"] == "CRITICAL" and alerts[0]["alert"] is True
    assert len(crashes) == 5  # the subscription's max delivery attempts


def test_stale_events_are_dropped_with_a_log(rstack, short_clip, report):
    blob, job_id = rstack.upload(short_clip, f"users/stale-{uuid.uuid4().hex[:6]}/clip.flac")
    assert rstack.wait(job_id)["status"] == "done"
    fresh_name = f"users/stale-{uuid.uuid4().hex[:6]}/never.flac"
    old = datetime.now(UTC) - timedelta(days=4)
    event = storage_event(blob, f"stale-{uuid.uuid4().hex[:6]}", event_time=old, name=fresh_name, generation="1")
    status = deliver(requests.Session(), rstack.env["MIXSCRIBE_FUNCTION_URL"], event)
    assert status == 200  # acknowledged: never retried
    from mixscribe.jobs import job_id_for

    assert rstack.job(job_id_for(blob.bucket.name, fresh_name, 1)) is None
    time.sleep(0.5)
    dropped = [
        e
        for e in log_entries(rstack, "on_upload.log")
        if e["message"] == "stale event dropped" and fresh_name in e.get("object", "")
    ]
    report["stale"] = {"dropped_with_log": len(dropped)}
    assert len(dropped) == 1 and dropped[0]["severity"] == "WARNING"
