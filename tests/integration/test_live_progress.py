"""Live progress on the local stack: the task records it on the job (throttled, watched on the job document
itself), ``GET /v1/jobs/{id}`` shows it, ``GET /v1/jobs/{id}/events`` streams status, progress and the
transcript as it grows until the job ends; every event validates against openapi.yaml."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from mixscribe.webapi.spec import schema_validator
from tests.conftest import standup_times
from tests.integration.test_api import new_client, upload_via_api

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
INTERVAL_S = 1.0  # the stack's MIXSCRIBE_PROGRESS_INTERVAL_S (tests/integration/conftest.py)
REPEATS = 4  # standup.opus four times: 308 s (under the piece threshold), three of the batched pipeline's
# batches (77 s alone is one batch of windows: its words arrive at once, in under 2 s on a fast 2-core machine)


def keep_watching(document, on_change, stop: threading.Event) -> None:
    """Listen to ``document`` until ``stop``. The Firestore emulator sometimes cancels a listen stream under
    load (RST_STREAM CANCEL), which ends the client's watch for good: a new one is opened then."""
    while not stop.is_set():
        watch = document.on_snapshot(on_change)
        while not stop.wait(0.2) and watch.is_active:
            pass
        watch.unsubscribe()


def read_events(client, job_id: str, timeout_s: float = 240) -> list[tuple[str, dict]]:
    headers = {"Authorization": f"Bearer {client.token()}"}
    with httpx.Client(timeout=httpx.Timeout(timeout_s, connect=10)) as http:
        with connect_sse(http, "GET", f"{client.base}/v1/jobs/{job_id}/events", headers=headers) as source:
            assert source.response.status_code == 200
            assert source.response.headers["content-type"].startswith("text/event-stream")
            return [(event.event, json.loads(event.data)) for event in source.iter_sse()]


def test_progress_streams_live_until_the_job_ends_and_the_job_document_is_written_at_most_once_per_interval(
    stack, tmp_path: Path
):
    client = new_client(stack, "live")
    length_s = standup_times(tmp_path / "standup_x4.flac", REPEATS)
    upload = upload_via_api(client, tmp_path / "standup_x4.flac", "audio/flac", {"notes": False})
    job_id = upload["job_id"]

    written: list[float] = []  # progress stamps as Firestore's listener sees the job document change
    seen = threading.Event()

    def on_change(snapshots, changes, read_time):
        for snapshot in snapshots:
            progress = (snapshot.to_dict() or {}).get("progress") or {}
            if "pieces" in progress and (not written or progress["updated_at"].timestamp() != written[-1]):
                written.append(progress["updated_at"].timestamp())
        seen.set()

    stop = threading.Event()
    watcher = threading.Thread(target=keep_watching, args=(stack.db.collection("jobs").document(job_id), on_change, stop))
    watcher.start()
    try:
        events = read_events(client, job_id)
    finally:
        stop.set()
        watcher.join()

    kinds = [kind for kind, _ in events]
    assert kinds[0] == "status" and kinds[-1] == "end" and events[-1][1]["status"] == "done"
    for kind, data in events:
        schema = {"status": "Job", "end": "Job", "progress": "Progress", "segment": "JobEventSegment"}[kind]
        schema_validator(schema).validate(data)
    statuses = [data["status"] for kind, data in events if kind == "status"]
    assert statuses[-1] == "done" and "transcribing" in statuses

    progress = [data for kind, data in events if kind == "progress"]
    live = [p for p in progress if p["percent"] < 100]
    assert len(live) >= 2, f"{length_s:.0f} s of audio on 2 cores takes several {INTERVAL_S} s intervals: {progress}"
    percents = [p["percent"] for p in progress]
    assert percents == sorted(percents) and percents[-1] == 100.0
    assert all(p["total_s"] == pytest.approx(length_s, abs=0.1) for p in progress)
    assert any(p["eta_s"] is not None and p["eta_s"] > 0 and p["speed_x"] > 0 for p in live)

    # the transcript grew while the job ran, and what grew is the final transcript's beginning
    segments = [data for kind, data in events if kind == "segment"]
    first_segment = kinds.index("segment")
    assert first_segment < kinds.index("end") and "transcribing" in statuses[: kinds[:first_segment].count("status")]
    final = client.call("GET", f"/v1/jobs/{job_id}/transcript").json()["segments"]
    assert [s["text"] for s in segments] == [s["text"] for s in final][: len(segments)]
    assert len({s["key"] for s in segments}) == len(segments)

    assert len(written) >= 2 and seen.is_set()
    gaps = [later - earlier for earlier, later in zip(written, written[1:])]
    assert min(gaps) >= INTERVAL_S * 0.99, f"the job document took progress more often than every {INTERVAL_S} s: {gaps}"

    done = client.call("GET", f"/v1/jobs/{job_id}").json()  # validated against the spec by the client
    assert done["progress"]["percent"] == 100.0 and done["progress"]["eta_s"] == 0


def test_events_of_a_finished_job_end_at_once_and_of_someone_elses_job_are_not_found(stack):
    owner = new_client(stack, "ev")
    upload = upload_via_api(owner, REPO / "samples" / "meeting.flac", "audio/flac", {"notes": False})
    events = read_events(owner, upload["job_id"])  # followed from queued to done
    assert events[-1][0] == "end" and events[-1][1]["status"] == "done"
    again = read_events(owner, upload["job_id"])  # a finished job: its state, then the end
    assert [kind for kind, _ in again] == ["status", "progress", "end"]

    stranger = new_client(stack, "ev")
    response = stranger.call("GET", f"/v1/jobs/{upload['job_id']}/events")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert stranger.call("GET", f"/v1/jobs/{upload['job_id']}/events", token=None).status_code == 401
