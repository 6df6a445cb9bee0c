"""The on_upload handler in-process through functions-framework's test client: a raw Pub/Sub push body
(what the ``on-upload`` subscription sends) and the same message as a binary-mode CloudEvent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent
from functions_framework import create_app

from mixscribe import topology
from mixscribe.jobs import job_id_for
from tests.conftest import REPO, SAMPLE
from tests.support.storage_events import notification_body, storage_event

SOURCE = str(REPO / "functions" / "on_upload" / "main.py")


@pytest.fixture()
def client(stack, monkeypatch):
    monkeypatch.setenv("MIXSCRIBE_LAUNCHER", "none")  # the running stack's workers take the request
    for job in ("GPU_JOB", "CPU_JOB"):  # its dispatch windows are not the stack's
        monkeypatch.setenv(f"MIXSCRIBE_{job}", f"in-process-test-{job.lower()}")
    return create_app("on_upload", SOURCE, "cloudevent").test_client()


def as_cloud_event(body: bytes) -> tuple[dict, bytes]:
    push = json.loads(body)
    attributes = {
        "type": "google.cloud.pubsub.topic.v1.messagePublished",
        "source": f"//pubsub.googleapis.com/projects/p/topics/{topology.UPLOADS}",
        "id": push["message"]["messageId"],
        "time": push["message"]["publishTime"],
    }
    return to_binary(CloudEvent(attributes, {"message": push["message"], "subscription": push["subscription"]}))


def post(client, event, mode: str) -> int:
    if mode == "push":
        return client.post(event.path, data=event.body, headers={"Content-Type": "application/json"}).status_code
    headers, body = as_cloud_event(event.body)
    return client.post("/", headers=headers, data=body).status_code


@pytest.mark.parametrize("mode", ["push", "cloudevent"])
def test_handler_creates_a_job(stack, client, mode):
    blob = stack.uploads.blob(f"users/dave/handler-{mode}.flac")
    blob.upload_from_filename(str(SAMPLE), if_generation_match=0)  # the stack's own subscription also delivers
    assert post(client, storage_event(blob, f"handler-{mode}"), mode) == 200
    job = stack.wait(
        job_id_for(blob.bucket.name, blob.name, blob.generation), ("queued", "transcribing", "transcribed", "summarizing", "done")
    )  # the stack may be quick
    assert job["source"]["md5"] == blob.md5_hash


def test_stale_malformed_and_foreign_notifications_are_dropped_not_retried(stack, client):
    bucket = stack.env["MIXSCRIBE_UPLOAD_BUCKET"]
    obj = {"bucket": bucket, "name": "users/dave/not-uploaded.flac", "generation": "1", "size": "10"}
    stale = notification_body(bucket, obj, "stale-1", datetime.now(UTC) - timedelta(days=4))
    path = topology.push_path("p", topology.UPLOADS)
    headers = {"Content-Type": "application/json"}
    assert client.post(path, data=stale, headers=headers).status_code == 200
    assert stack.job(job_id_for(bucket, obj["name"], 1)) is None
    malformed = json.loads(notification_body(bucket, obj, "bad-1"))
    malformed["message"]["data"] = "bm90IGpzb24="  # "not json"
    assert client.post(path, data=json.dumps(malformed), headers=headers).status_code == 200
    deleted = json.loads(notification_body(bucket, obj, "delete-1"))
    deleted["message"]["attributes"]["eventType"] = "OBJECT_DELETE"
    assert client.post(path, data=json.dumps(deleted), headers=headers).status_code == 200
    assert stack.job(job_id_for(bucket, obj["name"], 1)) is None


def test_missing_object_fails_as_source_missing(stack, client):
    bucket = stack.env["MIXSCRIBE_UPLOAD_BUCKET"]
    obj = {"bucket": bucket, "name": "users/dave/ghost.wav", "generation": "42", "size": "1000", "contentType": "audio/wav"}
    body = notification_body(bucket, obj, "ghost-1")
    path = topology.push_path("p", topology.UPLOADS)
    assert client.post(path, data=body, headers={"Content-Type": "application/json"}).status_code == 200
    job = stack.wait(job_id_for(bucket, obj["name"], 42), ("failed",), timeout_s=10)
    assert job["error"]["code"] == "source_missing"
    assert "deleted or replaced" in job["error"]["message"]
