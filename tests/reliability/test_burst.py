"""Load: a burst of 100 uploads all complete (throughput and the slowest job reported); a burst of good
and broken files shares the model's batches and fails only the broken ones."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import SAMPLE

from .helpers import wait_all

BURST = 100


def test_burst_of_100_uploads_completes(rstack, short_clip, report):
    prefix = f"users/burst-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        job_ids = list(pool.map(lambda i: rstack.upload(short_clip, f"{prefix}/clip-{i:03d}.flac")[1], range(BURST)))
    uploaded_s = time.monotonic() - started
    docs = wait_all(rstack, job_ids, timeout_s=900)
    elapsed = time.monotonic() - started
    latencies = sorted((d["updated_at"] - d["created_at"]).total_seconds() for d in docs.values())
    report["burst"] = {
        "uploads": BURST,
        "uploaded_in_s": round(uploaded_s, 1),
        "all_done_in_s": round(elapsed, 1),
        "jobs_per_min": round(BURST / elapsed * 60, 1),
        "p50_job_s": round(latencies[len(latencies) // 2], 1),
        "slowest_job_s": round(latencies[-1], 1),
        "clip_s": 2.6,
        "tasks_per_execution": 2,
    }
    assert [d["status"] for d in docs.values()] == ["done"] * BURST


def test_a_burst_mixing_good_and_bad_files_shares_batches_and_fails_only_the_bad(rstack, short_clip, tmp_path, report):
    """Short uploads of one owner, a third of them cut in half (their headers probe fine, their audio does
    not decode: they fail in the task, beside good requests waiting to share a batch with them)."""
    broken = tmp_path / "broken.flac"
    whole = SAMPLE.read_bytes()
    broken.write_bytes(whole[: len(whole) // 2])
    prefix = f"users/mixed-{uuid.uuid4().hex[:6]}"
    files = [(broken if i % 3 == 2 else short_clip, f"{prefix}/clip-{i:02d}.flac") for i in range(24)]
    with ThreadPoolExecutor(12) as pool:
        job_ids = list(pool.map(lambda item: rstack.upload(*item)[1], files))
    docs = wait_all(rstack, job_ids, timeout_s=600)
    bad = {job_id for (path, _), job_id in zip(files, job_ids) if path == broken}
    assert {docs[j]["error"]["code"] for j in bad} == {"corrupt_audio"}
    good = [j for j in job_ids if j not in bad]
    assert [docs[j]["status"] for j in good] == ["done"] * len(good)
    options = [json.loads(rstack.results.blob(f"jobs/{j}/transcript.json").download_as_bytes())["options"] for j in good]
    shared = [o for o in options if o["inference"] == "dynamic"]
    assert shared and max(o["batch_requests"] for o in shared) > 1 and max(o["window_requests"] for o in shared) > 1
    texts = {
        json.loads(rstack.results.blob(f"jobs/{j}/transcript.json").download_as_bytes())["segments"][0]["text"] for j in good
    }
    assert len(texts) == 1, texts  # one clip uploaded 16 times: no request took a neighbour's words or lost its own
    report["mixed_burst"] = {
        "uploads": len(files),
        "bad": len(bad),
        "good_done": len(good),
        "shared_batches": len(shared),
        "largest_batch": max(o["batch_requests"] for o in shared),
        "distinct_first_segments": len(texts),
    }
