"""``make demo``: start the local stack, upload the bundled speech sample, wait, show the results."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from mixscribe import layout
from mixscribe.jobs import JobStatus, job_id_for

from .stack import REPO, LocalStack, StackOptions

SAMPLE = REPO / "samples" / "meeting.flac"
TIMEOUT_S = 300


def run_demo(root: Path, tasks: int = 1, analytics: bool = True) -> int:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore, storage

    stack = LocalStack(root / "demo", StackOptions(transcribe_tasks=tasks, analytics=analytics))
    started = time.monotonic()
    env = stack.start()
    print(f"local stack up in {time.monotonic() - started:.1f} s (logs: {stack.root / 'logs'})")
    try:
        gcs = storage.Client(project=env["GOOGLE_CLOUD_PROJECT"], credentials=AnonymousCredentials())
        db = firestore.Client(project=env["GOOGLE_CLOUD_PROJECT"])
        blob = gcs.bucket(env["MIXSCRIBE_UPLOAD_BUCKET"]).blob(f"users/demo/{SAMPLE.name}")
        blob.metadata = {"language": "en"}
        blob.upload_from_filename(str(SAMPLE), if_generation_match=0)
        upload_done = time.monotonic()
        job_id = job_id_for(blob.bucket.name, blob.name, blob.generation)
        print(f"uploaded {SAMPLE.name} ({SAMPLE.stat().st_size} bytes) as gs://{blob.bucket.name}/{blob.name}")
        print(f"job {job_id}")
        results = gcs.bucket(env["MIXSCRIBE_RESULTS_BUCKET"])
        transcript_at = _wait_for_object(results.blob(layout.transcript_path(job_id, "json")))
        latency = transcript_at - upload_done
        doc = _wait(db, job_id)
        if doc["status"] == JobStatus.FAILED.value:
            print(f"job failed: {doc['error']}")
            return 1
        transcript = json.loads(results.blob(layout.transcript_path(job_id, "json")).download_as_text())
        metrics = json.loads(results.blob(layout.metrics_path(job_id)).download_as_text())
        out_dir = root / "demo-output" / job_id
        out_dir.mkdir(parents=True, exist_ok=True)
        print(f"\nstatus: {doc['status']}  (upload → transcript.json: {latency:.2f} s)\n")
        print("transcript:")
        for seg in transcript["segments"]:
            print(f"  [{seg['start']:6.2f} → {seg['end']:6.2f}] {seg['text']}")
        print(
            f"\nmetrics: duration {metrics['duration_s']} s, loudness {metrics['loudness_lufs']} LUFS, "
            f"true peak {metrics['true_peak_dbtp']} dBTP, speech ratio {metrics['speech_ratio']}, "
            f"real-time factor {metrics['real_time_factor']} ({metrics['device']}/{metrics['compute_type']})"
        )
        notes = doc.get("notes") or {}
        print(f"\nnotes ({notes.get('generator')}; {notes.get('fallback_reason') or 'model ' + str(notes.get('model'))}):\n")
        md = results.blob(layout.notes_path(job_id, "md")).download_as_text()
        print("\n".join("  " + line for line in md.splitlines()))
        print("\noutputs:")
        for fmt, uri in sorted(doc["outputs"].items()):
            local = out_dir / uri.rsplit("/", 1)[-1]
            results.blob(uri.split("/", 3)[3]).download_to_filename(str(local))
            print(f"  {fmt:10s} {uri}\n             copied to {local}")
        if analytics:
            _show_analytics(job_id, root / "demo-output" / "report")
        return 0
    finally:
        stack.stop()
        print("\nlocal stack stopped")


def _show_analytics(job_id: str, report_dir: Path) -> None:
    """Wait until the streaming pipeline has written the demo's job to BigQuery (the stack's emulator),
    then query and report through google-cloud-bigquery, as an analyst would."""
    from google.cloud import bigquery

    from beam_pipelines.analytics.report import client_from_env, markdown, render, run_named

    client = client_from_env()
    query = "SELECT status FROM mixscribe.jobs_current WHERE job_id = @job"
    config = bigquery.QueryJobConfig(query_parameters=[bigquery.ScalarQueryParameter("job", "STRING", job_id)])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        rows = list(client.query(query, job_config=config).result())
        if rows and rows[0]["status"] == "done":
            break
        time.sleep(0.5)
    print(f"\nanalytics (BigQuery API at {os.environ['BIGQUERY_EMULATOR_HOST']}), query daily_volume:\n")
    print(markdown(*run_named(client, "daily_volume")))
    png, md = render(client, report_dir)
    print(f"report: {png} and {md}")


def _wait_for_object(blob) -> float:
    """When ``blob`` first exists (polled every 50 ms)."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if blob.exists():
            return time.monotonic()
        time.sleep(0.05)
    raise TimeoutError(f"{blob.name} did not appear within {TIMEOUT_S} s")


def _wait(db, job_id: str) -> dict:
    deadline = time.monotonic() + TIMEOUT_S
    terminal = {JobStatus.DONE.value, JobStatus.FAILED.value}
    while time.monotonic() < deadline:
        snap = db.collection("jobs").document(job_id).get()
        if snap.exists and snap.to_dict()["status"] in terminal:
            return snap.to_dict()
        time.sleep(0.1)
    raise TimeoutError(f"job {job_id} did not finish within {TIMEOUT_S} s")
