"""One job's trace across every hop of the local stack, its logs, and the metrics the collector serves."""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

import pytest
import requests

from local_emulators.traces import read_spans, render_tree, trace_of_job
from tests.conftest import SAMPLE
from tests.integration.test_api import new_client, upload_via_api

pytestmark = pytest.mark.integration
TRACE_FIELD = "logging.googleapis.com/trace"


def spans_of(telemetry_dir: Path, trace_id: str) -> list[dict]:
    spans = []
    for path in (telemetry_dir / "traces").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            span = json.loads(line)
            if span["trace_id"] == trace_id:
                spans.append(span)
    return spans


def log_lines_for(stack_root: Path, job_id: str) -> list[dict]:
    entries = []
    for path in (stack_root / "logs").rglob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if job_id in line and line.startswith("{"):
                entry = json.loads(line)
                if entry.get("job_id") == job_id:
                    entries.append(entry)
    return entries


def scrape(url: str) -> dict[str, float]:
    """Prometheus text → {'name{labels}': value} (labels sorted as served)."""
    samples = {}
    for line in requests.get(url, timeout=10).text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    return samples


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for k, v in samples.items() if re.match(rf"^{name}(\{{|$)", k) and all(w in k for w in wanted))


def test_one_trace_follows_a_job_from_the_upload_to_the_notes(stack):
    trace_id, root_span = secrets.token_hex(16), secrets.token_hex(8)
    client = new_client(stack, "trace")
    client.session.headers["traceparent"] = f"00-{trace_id}-{root_span}-01"
    upload = upload_via_api(client, SAMPLE, "audio/flac")
    job = stack.wait(upload["job_id"])
    assert job["status"] == "done", job.get("error")
    assert job["trace"].split("-")[1] == trace_id

    telemetry_dir = Path(stack.env["MIXSCRIBE_TELEMETRY_DIR"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the notes span ends just after the job's last write
        spans = spans_of(telemetry_dir, trace_id)
        if any(s["name"] == "notes" for s in spans):
            break
        time.sleep(0.2)
    by_id = {s["span_id"]: s for s in spans}
    services = {s["service"] for s in spans}
    assert {"api", "on_upload", "transcribe", "notes"} <= services
    names = {s["name"] for s in spans}
    assert {
        "api POST",
        "intake",
        "transcribe.request",
        "download",
        "decode",
        "model",
        "write_outputs",
        "notes",
    } <= names  # notes.generate too, unless an earlier test cached these notes
    for span in spans:  # one tree: every parent is a span of this trace, or the client's own
        assert span["parent_span_id"] in by_id or span["parent_span_id"] == root_span, span
    intake = next(s for s in spans if s["name"] == "intake")
    request = next(s for s in spans if s["name"] == "transcribe.request")
    notes = next(s for s in spans if s["name"] == "notes")
    assert by_id[intake["parent_span_id"]]["service"] == "api"  # through the object's metadata
    assert request["parent_span_id"] == intake["span_id"]  # through Pub/Sub attributes
    assert by_id[notes["parent_span_id"]]["service"] == "transcribe"
    assert intake["attributes"]["mixscribe.job_id"] == job["job_id"]
    all_spans = read_spans(telemetry_dir)  # what `python -m local_emulators trace JOB_ID` prints
    assert trace_of_job(all_spans, job["job_id"]) == trace_id
    tree = render_tree(all_spans, trace_id)
    assert "api POST [api]" in tree[0] and len(tree) == len(spans)
    assert any(line.split("ms  ", 1)[1].startswith("  intake [on_upload]") for line in tree)  # a child of the API span

    lines = log_lines_for(telemetry_dir.parent, job["job_id"])
    components = {line["component"] for line in lines}
    assert {"on_upload", "transcribe", "notes"} <= components
    expected = f"projects/{stack.env['GOOGLE_CLOUD_PROJECT']}/traces/{trace_id}"
    untraced = [(line["component"], line["message"]) for line in lines if line.get(TRACE_FIELD) != expected]
    assert untraced == []
    assert all(line["severity"] and line["message"] for line in lines)


def test_metrics_reach_the_local_prometheus_endpoint(stack):
    blob, job_id = stack.upload(SAMPLE, f"users/metrics/{secrets.token_hex(4)}.flac")
    assert stack.wait(job_id)["status"] == "done"
    url = stack.env["MIXSCRIBE_METRICS_URL"]
    deadline = time.monotonic() + 20  # processes export every 2 s; the task's last export is at its exit
    while True:
        samples = scrape(url)
        ready = (
            total(samples, "mixscribe_jobs_total", status="done") >= 1
            and total(samples, "mixscribe_transcribe_real_time_factor_ratio_count") >= 1
        )
        if ready or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert total(samples, "mixscribe_jobs_total", status="queued") >= 1
    assert total(samples, "mixscribe_jobs_total", status="done") >= 1
    for stage in ("intake", "download", "decode", "transcribe", "write"):
        assert total(samples, "mixscribe_stage_duration_seconds_count", stage=stage) >= 1, stage
    assert total(samples, "mixscribe_transcribe_real_time_factor_ratio_count") >= 1
    assert total(samples, "mixscribe_transcript_latency_per_audio_minute_seconds_count") >= 1
    bucket_inf = total(samples, "mixscribe_stage_duration_seconds_bucket", stage="transcribe", le="+Inf")
    assert bucket_inf == total(samples, "mixscribe_stage_duration_seconds_count", stage="transcribe") >= 1
    assert total(samples, "mixscribe_llm_tokens_total") + total(samples, "mixscribe_notes_fallbacks_total") >= 1
    assert any(k.startswith('mixscribe_jobs_in_status{status="queued"}') for k in samples)
