"""Load: a burst of 100 uploads all complete; throughput and the slowest job are reported."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

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
