"""At-least-once delivery: the same storage event five times makes one job and one set of outputs."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.conftest import SAMPLE
from tests.support.storage_events import deliver, storage_event


def test_same_event_delivered_five_times(stack):
    stack.drain_events(wait_s=0.2)
    blob, job_id = stack.upload(SAMPLE, "users/carol/dup.flac")
    event = storage_event(blob, "redelivered-1")
    url = stack.env["MIXSCRIBE_FUNCTION_URL"]
    session = requests.Session()
    with ThreadPoolExecutor(5) as pool:
        statuses = list(pool.map(lambda _: deliver(session, url, event), range(5)))
    assert statuses == [200] * 5
    doc = stack.wait(job_id)
    assert doc["status"] == "done" and doc["attempts"] == 1
    generations = {fmt: stack.results.get_blob(uri.split("/", 3)[3]).generation for fmt, uri in doc["outputs"].items()}
    # Deliver five more after completion: nothing may change.
    with ThreadPoolExecutor(5) as pool:
        list(pool.map(lambda _: deliver(session, url, event), range(5)))
    time.sleep(2)
    again = stack.job(job_id)
    assert again["updated_at"] == doc["updated_at"] and again["attempts"] == 1
    assert generations == {fmt: stack.results.get_blob(uri.split("/", 3)[3]).generation for fmt, uri in doc["outputs"].items()}
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = stack.db.collection("jobs").where(filter=FieldFilter("source.name", "==", blob.name))
    jobs_for_object = [d.id for d in query.stream()]
    assert jobs_for_object == [job_id]
    events = [e for e in stack.drain_events() if e["job_id"] == job_id]
    assert sorted(e["type"] for e in events) == [
        "job.completed",
        "job.notes_ready",
        "job.queued",
        "job.started",
        "job.transcribed",
    ]
