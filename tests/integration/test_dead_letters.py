"""Every dead-letter topic is drained: what lands there (as Pub/Sub dead-letters it) ends its job or webhook.

Messages are published to the ``-dead`` topics the way Pub/Sub forwards an undeliverable message
(its attributes plus ``CloudPubSubDeadLetterSource*``); the emulator's push subscriptions of the
topology deliver them to the dead_letters function running from its archive.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from mixscribe import topology
from mixscribe.gcp.firestore_documents import FirestoreDocuments
from mixscribe.jobs import Job, JobOptions, JobStatus, SourceObject, job_id_for
from mixscribe.store import JobStore, utcnow

pytestmark = pytest.mark.integration


def dead_letter(stack, source: str, data: bytes, **attributes: str) -> None:
    from google.cloud import pubsub_v1

    subscription = topology.subscription(source)
    topic = f"projects/{stack.env['GOOGLE_CLOUD_PROJECT']}/topics/{subscription.dead_letter_topic}"
    stamped: dict[str, Any] = {
        "CloudPubSubDeadLetterSourceSubscription": source,
        "CloudPubSubDeadLetterSourceDeliveryCount": str(subscription.dead_letter_after),
        **attributes,
    }
    pubsub_v1.PublisherClient().publish(topic, data, **stamped).result(timeout=30)


def wait_for(predicate, timeout_s: float = 60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_a_dead_lettered_upload_notification_fails_the_uploads_job(stack):
    bucket = stack.env["MIXSCRIBE_UPLOAD_BUCKET"]
    name = f"users/dl-{uuid.uuid4().hex[:6]}/lost.flac"
    obj = {"bucket": bucket, "name": name, "generation": "7", "size": "1234", "contentType": "audio/flac"}
    dead_letter(
        stack,
        "on-upload",
        json.dumps(obj).encode(),
        bucketId=bucket,
        objectId=name,
        objectGeneration="7",
        eventType=topology.NOTIFICATION_EVENT,
        payloadFormat=topology.NOTIFICATION_PAYLOAD,
    )
    job = wait_for(lambda: stack.job(job_id_for(bucket, name, 7)))
    assert job["status"] == "failed" and job["error"]["code"] == "dead_lettered"
    assert job["owner"] == name.split("/")[1] and job["source"]["name"] == name


def test_a_dead_lettered_job_event_marks_its_webhook_failed(stack):
    store = JobStore(FirestoreDocuments(stack.db))
    source = SourceObject(stack.env["MIXSCRIBE_UPLOAD_BUCKET"], f"users/dl-{uuid.uuid4().hex[:6]}/done.flac", 3, 10, "audio/flac")
    job = Job.new(
        source, JobOptions(model="tiny.en", webhook="https://receiver.example/hook"), utcnow(), 1, status=JobStatus.DONE
    )
    store.create(job)
    event = {"event_id": "e1", "type": "job.completed", "job_id": job.job_id}
    dead_letter(stack, "webhooks", json.dumps(event).encode(), type="job.completed", job_id=job.job_id)
    webhook = wait_for(lambda: (stack.job(job.job_id) or {}).get("webhook"))
    assert webhook["state"] == "failed" and "dead-lettered" in webhook["last_error"]
    assert stack.job(job.job_id)["status"] == "done"  # the job itself had finished: it stays so
