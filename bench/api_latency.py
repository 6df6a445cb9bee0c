"""``GET /v1/jobs/{id}`` latency on the local stack under an open-loop load (default 100 req/s, 20 s).

Requests are sent on a fixed schedule regardless of how fast answers come back, and each latency
is measured from its scheduled time (no coordinated omission). The baseline, measured the same way
in the same run, is ``GET /healthz`` (no token, no Firestore): the ratio is what authentication,
the rate limit and the job read cost. Verification keys are cached by the API (max-age of the
certs endpoint); the warm-up request fills that cache, so the figures exclude cache misses.

    python -m bench.api_latency [--rate 100] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from local_emulators.stack import LocalStack, StackOptions


def open_loop(url: str, headers: dict[str, str], rate: float, seconds: float, workers: int = 48) -> dict:
    """Latency percentiles (ms) and errors of ``rate`` GETs per second for ``seconds``."""
    local = threading.local()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one(scheduled: float) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            status = session.get(url, headers=headers, timeout=10).status_code
            error = "" if status == 200 else f"HTTP {status}"
        except requests.RequestException as exc:
            error = type(exc).__name__
        elapsed = (time.perf_counter() - scheduled) * 1000
        with lock:
            latencies.append(elapsed)
            if error:
                errors.append(error)

    start = time.perf_counter() + 0.5
    count = int(rate * seconds)
    with ThreadPoolExecutor(workers) as pool:
        for i in range(count):
            pool.submit(one, start + i / rate)
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)

    return {
        "requests": count,
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def seeded_job(env: dict[str, str], uid: str) -> str:
    """One finished job record for ``uid`` (written to the Firestore emulator)."""
    import os

    from google.cloud import firestore

    from mixscribe.gcp.firestore_documents import FirestoreDocuments
    from mixscribe.jobs import Job, JobOptions, JobStatus, SourceObject
    from mixscribe.store import JobStore, utcnow

    os.environ.update(env)
    source = SourceObject(env["MIXSCRIBE_UPLOAD_BUCKET"], f"users/{uid}/bench/a.flac", 1, 1000, "audio/flac")
    job = Job.new(source, JobOptions(model="tiny.en"), utcnow(), 1, status=JobStatus.DONE)
    JobStore(FirestoreDocuments(firestore.Client(project=env["GOOGLE_CLOUD_PROJECT"]))).create(job)
    return job.job_id


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args(argv)
    from tests.support.api_client import ApiClient

    limits = {"MIXSCRIBE_RATE_PER_MINUTE": "1000000", "MIXSCRIBE_RATE_PER_HOUR": "1000000"}
    with tempfile.TemporaryDirectory() as tmp:
        stack = LocalStack(Path(tmp), StackOptions(service_env=limits))
        env = stack.start()
        try:
            client = ApiClient.for_stack(env, "bench-user")
            job_id = seeded_job(env, client.uid)
            headers = {"Authorization": f"Bearer {client.token()}"}
            url = f"{env['MIXSCRIBE_API_URL']}/v1/jobs/{job_id}"
            assert requests.get(url, headers=headers, timeout=10).status_code == 200  # warm-up: keys cached
            open_loop(url, headers, args.rate, 2)  # warm the instance's threads and connections
            baseline = open_loop(f"{env['MIXSCRIBE_API_URL']}/healthz", {}, args.rate, args.seconds)
            measured = open_loop(url, headers, args.rate, args.seconds)
        finally:
            stack.stop()
    result = {
        "rate": args.rate,
        "seconds": args.seconds,
        "get_job": measured,
        "healthz": baseline,
        "p50_ratio": round(measured["p50_ms"] / max(baseline["p50_ms"], 0.01), 2),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
