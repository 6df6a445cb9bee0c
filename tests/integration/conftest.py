"""One local stack per test session (real emulators, real model), on free ports, stopped at the end."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local_emulators.stack import LocalStack, StackOptions
from mixscribe.jobs import job_id_for
from tests.support.gcs_server import GcsServer
from tests.support.openai_protocol_server import OpenAIProtocolServer

TERMINAL = ("done", "failed")
EDGE_BUCKET = "edge-uploads"


@dataclass
class StackClient:
    env: dict[str, str]
    gcs: Any
    db: Any
    subscriber: Any
    events_subscription: str

    @property
    def uploads(self) -> Any:
        return self.gcs.bucket(self.env["MIXSCRIBE_UPLOAD_BUCKET"])

    @property
    def results(self) -> Any:
        return self.gcs.bucket(self.env["MIXSCRIBE_RESULTS_BUCKET"])

    def upload(self, path: Path, name: str, content_type: str | None = None, metadata: dict | None = None) -> tuple[Any, str]:
        blob = self.uploads.blob(name)
        if metadata:
            blob.metadata = metadata
        blob.upload_from_filename(str(path), content_type=content_type, if_generation_match=0)
        return blob, job_id_for(blob.bucket.name, blob.name, blob.generation)

    def job(self, job_id: str) -> dict | None:
        snap = self.db.collection("jobs").document(job_id).get()
        return snap.to_dict() if snap.exists else None

    def wait(self, job_id: str, statuses: tuple[str, ...] = TERMINAL, timeout_s: float = 180) -> dict:
        deadline = time.monotonic() + timeout_s
        doc = None
        while time.monotonic() < deadline:
            doc = self.job(job_id)
            if doc and doc["status"] in statuses:
                return doc
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} not in {statuses} after {timeout_s} s: {doc}")

    def wait_idle(self, timeout_s: float = 180) -> None:
        """Until no job is in flight (so scripted LLM failures reach the job a test means)."""
        from google.cloud.firestore_v1.base_query import FieldFilter

        live = ["queued", "transcribing", "transcribed", "summarizing"]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            query = self.db.collection("jobs").where(filter=FieldFilter("status", "in", live)).limit(1)
            if not list(query.stream()):
                return
            time.sleep(0.2)
        raise AssertionError("jobs still in flight")

    def drain_events(self, wait_s: float = 2.0) -> list[dict]:
        """Every event published since the last drain (raw messages: duplicates stay visible)."""
        events: list[dict] = []
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                resp = self.subscriber.pull(request={"subscription": self.events_subscription, "max_messages": 100}, timeout=2)
            except Exception:
                continue
            if not resp.received_messages:
                continue
            events += [json.loads(m.message.data) for m in resp.received_messages]
            self.subscriber.acknowledge(
                request={"subscription": self.events_subscription, "ack_ids": [m.ack_id for m in resp.received_messages]}
            )
        return events


@pytest.fixture(scope="session")
def llm_server():
    """The OpenAI-protocol loopback server the stack's notes function talks to."""
    with OpenAIProtocolServer() as server:
        yield server


@contextmanager
def running_stack(root: Path, options: StackOptions) -> Iterator[StackClient]:
    """A local stack with a client for it (and a tap on the events topic); stopped on exit."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore, pubsub_v1, storage

    local = LocalStack(root, options)
    env = local.start()
    try:
        project = env["GOOGLE_CLOUD_PROJECT"]
        subscriber = pubsub_v1.SubscriberClient()
        events_sub = f"projects/{project}/subscriptions/tests-events-tap"
        subscriber.create_subscription(request={"name": events_sub, "topic": f"projects/{project}/topics/mixscribe-events"})
        yield StackClient(
            env=env,
            gcs=storage.Client(project=project, credentials=AnonymousCredentials()),
            db=firestore.Client(project=project),
            subscriber=subscriber,
            events_subscription=events_sub,
        )
    finally:
        local.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, llm_server: OpenAIProtocolServer):
    root = tmp_path_factory.mktemp("stack")
    llm_env = {
        "MIXSCRIBE_LLM_BASE_URL": llm_server.base_url,
        "MIXSCRIBE_LLM_API_KEY": "test-only-key",
        "MIXSCRIBE_LLM_MODEL": "gpt-4o-mini",
        "MIXSCRIBE_LLM_MAX_RETRIES": "1",
        "MIXSCRIBE_LLM_BACKOFF_S": "0.05",
        "MIXSCRIBE_WEBHOOK_MAX_ATTEMPTS": "3",
        "MIXSCRIBE_PROGRESS_INTERVAL_S": "1",  # live progress seen several times on short test files
        # the live-progress tests watch a 77 s file grow window by window: batched, it is one batch of 4 on 2
        # cores and arrives whole (test_batched_inference and the long-file tests cover the batched path)
        "MIXSCRIBE_CPU_BATCH_MIN_S": "120",
    }
    with running_stack(root, StackOptions(idle_timeout_s=15, dispatch_debounce_s=5, service_env=llm_env)) as client:
        yield client


@pytest.fixture()
def edge_gcs(tmp_path: Path) -> Iterator[GcsServer]:
    """A fake-gcs-server of the edge agent's own, with its bucket (outages are played by stopping it)."""
    server = GcsServer(tmp_path / "gcs")
    server.start()
    server.client().create_bucket(EDGE_BUCKET)
    yield server
    server.stop()
