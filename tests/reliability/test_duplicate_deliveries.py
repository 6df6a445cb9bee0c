"""At-least-once at scale: 200 storage events, each delivered 5 times, concurrently, in random order."""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from mixscribe.jobs import job_id_for
from tests.support.storage_events import deliver, storage_event

from .helpers import wait_all

OBJECTS = 200
DELIVERIES = 5
STATUS_ORDER = ["job.queued", "job.started", "job.transcribed", "job.notes_ready", "job.completed"]


def test_200_events_delivered_5_times_make_200_jobs_and_one_set_of_outputs(rstack, short_clip, report):
    rstack.drain_events(wait_s=0.2)
    prefix = f"users/dup-{uuid.uuid4().hex[:6]}"
    with ThreadPoolExecutor(16) as pool:  # the uploads themselves: the first delivery of each event
        blobs = list(pool.map(lambda i: rstack.upload(short_clip, f"{prefix}/clip-{i:03d}.flac")[0], range(OBJECTS)))
    job_ids = [job_id_for(b.bucket.name, b.name, b.generation) for b in blobs]
    events = [storage_event(blob, f"dup-{i}") for i, blob in enumerate(blobs)]
    extra = [e for e in events for _ in range(DELIVERIES - 1)]
    random.Random(8).shuffle(extra)
    url = rstack.env["MIXSCRIBE_FUNCTION_URL"]
    session = requests.Session()
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        statuses = Counter(pool.map(lambda e: deliver(session, url, e), extra))
    redelivery_s = time.monotonic() - started
    assert statuses == {200: len(extra)}

    docs = wait_all(rstack, job_ids, timeout_s=900)
    all_done_s = time.monotonic() - started
    assert {d["status"] for d in docs.values()} == {"done"}
    attempts = Counter(d["attempts"] for d in docs.values())
    generations = {
        j: {fmt: rstack.results.get_blob(uri.split("/", 3)[3]).generation for fmt, uri in d["outputs"].items()}
        for j, d in docs.items()
    }

    # After completion, the same 1,000 deliveries again: nothing may change.
    again = events * DELIVERIES
    random.Random(9).shuffle(again)
    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(lambda e: deliver(session, url, e), again)) == {200}
    time.sleep(3)
    after = wait_all(rstack, job_ids)
    changed_docs = sum(after[j]["updated_at"] != docs[j]["updated_at"] for j in job_ids)
    rewritten = sum(
        generations[j]
        != {fmt: rstack.results.get_blob(uri.split("/", 3)[3]).generation for fmt, uri in after[j]["outputs"].items()}
        for j in job_ids
    )

    from google.cloud.firestore_v1.base_query import FieldFilter

    jobs_for_prefix = [
        snap.id for snap in rstack.db.collection("jobs").where(filter=FieldFilter("owner", "==", prefix.split("/")[1])).stream()
    ]
    raw = [e for e in rstack.drain_events(wait_s=5) if e["job_id"] in docs]
    per_job_type = Counter((e["job_id"], e["type"]) for e in raw)
    duplicated_events = {k: n for k, n in per_job_type.items() if n > 1 and k[1] != "job.started"}
    regressed = 0
    for job_id in job_ids:
        seen = sorted((e for e in raw if e["job_id"] == job_id), key=lambda e: e["occurred_at"])
        ranks = [STATUS_ORDER.index(e["type"]) for e in seen if e["type"] in STATUS_ORDER]
        regressed += ranks != sorted(ranks)
    figures = {
        "objects": OBJECTS,
        "deliveries": OBJECTS * DELIVERIES,
        "after_completion_deliveries": len(again),
        "jobs": len(jobs_for_prefix),
        "duplicate_jobs": len(jobs_for_prefix) - OBJECTS,
        "attempts_histogram": dict(attempts),
        "duplicate_transcribed_events": sum(n - 1 for (j, t), n in per_job_type.items() if t == "job.transcribed" and n > 1),
        "outputs_rewritten_after_done": rewritten,
        "docs_changed_after_done": changed_docs,
        "regressed_states": regressed,
        "redelivery_s": round(redelivery_s, 1),
        "all_done_s": round(all_done_s, 1),
    }
    report["duplicates"] = figures
    assert sorted(jobs_for_prefix) == sorted(job_ids)
    assert attempts == {1: OBJECTS}  # no job transcribed twice, so no output written twice
    assert duplicated_events == {}
    assert rewritten == 0 and changed_docs == 0 and regressed == 0
    assert all(per_job_type[(j, "job.completed")] == 1 and per_job_type[(j, "job.transcribed")] == 1 for j in job_ids)
