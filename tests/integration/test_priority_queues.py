"""Priorities on their own queues and jobs: a high upload overtakes a batch backlog (real stack, real model).

The local stack runs both Cloud Run jobs of the deployment from the image's files: ``transcribe-gpu``
(high and normal priority; on CPU here) and ``transcribe-cpu`` (batch), one task each at most.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from mixscribe.config import Settings
from tests.conftest import SAMPLE
from tests.integration.test_api import wait_for
from tests.support.api_client import ApiClient

BATCH = 6


def test_a_high_upload_is_done_before_a_batch_backlog_drains_each_on_its_own_job(stack):
    settings = Settings.from_env(stack.env)
    uid = f"prio-{uuid.uuid4().hex[:8]}"
    backlog = [
        stack.upload(SAMPLE, f"users/{uid}/batch-{i}.flac", metadata={"priority": "batch", "notes": "false"})[1]
        for i in range(BATCH)
    ]
    _, high = stack.upload(SAMPLE, f"users/{uid}/urgent.flac", metadata={"priority": "high", "notes": "false"})
    docs = {job_id: stack.wait(job_id, timeout_s=300) for job_id in [*backlog, high]}
    assert all(doc["status"] == "done" for doc in docs.values()), docs

    def finished(job_id: str) -> datetime:
        return docs[job_id]["updated_at"]

    assert finished(high) < max(finished(job_id) for job_id in backlog)  # it did not wait for the backlog
    assert docs[high]["routing"] == {"job": settings.gpu_job, "model": "tiny.en", "priority": "high"}
    assert {docs[job_id]["routing"]["job"] for job_id in backlog} == {settings.cpu_job}
    view = wait_for(ApiClient.for_stack(stack.env, uid), high)  # the API shows where it ran (checked against the spec)
    assert view["routing"] == {"job": settings.gpu_job, "model": "tiny.en", "priority": "high"}
