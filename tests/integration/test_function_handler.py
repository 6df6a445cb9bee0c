"""The on_upload handler in-process through functions-framework's test client (binary and structured)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent
from functions_framework import create_app

from mixscribe.jobs import job_id_for
from tests.conftest import REPO, SAMPLE

SOURCE = str(REPO / "functions" / "on_upload" / "main.py")


@pytest.fixture()
def client(stack, monkeypatch):
    monkeypatch.setenv("MIXSCRIBE_LAUNCHER", "none")  # the running stack's workers take the request
    return create_app("on_upload", SOURCE, "cloudevent").test_client()


def storage_event(blob, time: datetime, **data_overrides) -> CloudEvent:
    data = {**blob._properties, **data_overrides}
    attributes = {
        "type": "google.cloud.storage.object.v1.finalized",
        "source": f"//storage.googleapis.com/projects/_/buckets/{blob.bucket.name}",
        "subject": f"objects/{blob.name}",
        "time": time.isoformat(),
    }
    return CloudEvent(attributes, data)


@pytest.mark.parametrize("mode", [to_binary, to_structured])
def test_handler_creates_a_job(stack, client, mode):
    blob = stack.uploads.blob(f"users/dave/handler-{mode.__name__}.flac")
    blob.upload_from_filename(str(SAMPLE), if_generation_match=0)  # the stack's own trigger also fires
    headers, body = mode(storage_event(blob, datetime.now(timezone.utc)))
    response = client.post("/", headers=headers, data=body)
    assert response.status_code == 200
    job = stack.wait(job_id_for(blob.bucket.name, blob.name, blob.generation),
                     ("queued", "transcribing", "transcribed", "summarizing", "done"))  # the stack may be quick
    assert job["source"]["md5"] == blob.md5_hash


def test_stale_and_malformed_events_are_dropped_not_retried(stack, client):
    blob = stack.uploads.blob("users/dave/not-uploaded.flac")
    blob._properties.update({"bucket": blob.bucket.name, "name": blob.name, "generation": "1", "size": "10"})
    stale = storage_event(blob, datetime.now(timezone.utc) - timedelta(days=4))
    headers, body = to_binary(stale)
    assert client.post("/", headers=headers, data=body).status_code == 200
    assert stack.job(job_id_for(blob.bucket.name, blob.name, 1)) is None
    malformed = CloudEvent({**stale._attributes, "time": datetime.now(timezone.utc).isoformat()}, {"bucket": "x"})
    headers, body = to_binary(malformed)
    assert client.post("/", headers=headers, data=body).status_code == 200


def test_missing_object_fails_as_source_missing(stack, client):
    blob = stack.uploads.blob("users/dave/ghost.wav")
    blob._properties.update(
        {"bucket": blob.bucket.name, "name": blob.name, "generation": "42", "size": "1000", "contentType": "audio/wav"}
    )
    headers, body = to_binary(storage_event(blob, datetime.now(timezone.utc)))
    assert client.post("/", headers=headers, data=body).status_code == 200
    job = stack.wait(job_id_for(blob.bucket.name, blob.name, 42), ("failed",), timeout_s=10)
    assert job["error"]["code"] == "source_missing"
    assert "deleted or replaced" in job["error"]["message"]
