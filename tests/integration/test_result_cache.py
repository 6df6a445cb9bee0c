"""The result cache on the local stack: a re-upload is answered from the earlier transcript until that
job is deleted (fake-gcs-server's notifications carry the object's MD5, as Cloud Storage's do)."""

from __future__ import annotations

import json
import uuid

from tests.conftest import SAMPLE
from tests.support.api_client import ApiClient


def test_a_reupload_reuses_the_transcript_and_deleting_the_first_job_ends_that(stack):
    uid = f"cache-{uuid.uuid4().hex[:8]}"
    client = ApiClient.for_stack(stack.env, uid)
    _, first = stack.upload(SAMPLE, f"users/{uid}/monday.flac", metadata={"notes": "false"})
    assert stack.wait(first)["status"] == "done"

    _, again = stack.upload(SAMPLE, f"users/{uid}/monday-again.flac", metadata={"notes": "false"})
    reused = stack.wait(again)
    assert reused["status"] == "done" and reused["cache_hit"] == {"job_id": first} and reused["attempts"] == 0
    assert reused["routing"]["job"] is None  # no transcription job ran it
    copied = json.loads(stack.results.blob(f"jobs/{again}/transcript.json").download_as_bytes())
    original = json.loads(stack.results.blob(f"jobs/{first}/transcript.json").download_as_bytes())
    assert copied["job_id"] == again and copied["text"] == original["text"]
    assert client.call("GET", f"/v1/jobs/{again}").json()["cache_hit"] == {"job_id": first}

    assert client.call("DELETE", f"/v1/jobs/{first}").status_code == 204
    assert stack.results.blob(f"jobs/{again}/transcript.json").exists()  # the copy stays with its job
    _, third = stack.upload(SAMPLE, f"users/{uid}/monday-third.flac", metadata={"notes": "false"})
    fresh = stack.wait(third)
    assert fresh["status"] == "done" and fresh.get("cache_hit") is None and fresh["attempts"] == 1
