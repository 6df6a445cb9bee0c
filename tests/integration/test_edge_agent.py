"""The edge agent end to end, installed as README says (its own package, its own venv): replay into
the local stack, storage outage, SIGKILL, disk budget."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from local_emulators.deployables import deployable_env
from mixscribe.jobs import job_id_for
from tests.integration.conftest import EDGE_BUCKET as BUCKET
from tests.support.edge_install import installed_agent, spool_rows

pytestmark = pytest.mark.integration


@functools.lru_cache(maxsize=1)
def edge_command() -> str:
    return str(installed_agent() / "bin" / "mixscribe-edge")


def agent(env: dict[str, str], *args: str) -> subprocess.Popen:
    """``mixscribe-edge run`` from its own venv, outside the repository, with nothing of it importable."""
    return subprocess.Popen(
        [edge_command(), "run", *args],
        cwd=Path(edge_command()).parent,
        env={**deployable_env(dict(os.environ)), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stitched(blobs: list) -> np.ndarray:
    """The objects' audio in name order (session, then sequence), as int32 frames."""
    parts = []
    for blob in sorted(blobs, key=lambda b: b.name):
        with blob.open("rb") as handle:
            parts.append(soundfile.read(handle, dtype="int32", always_2d=True)[0])
    return np.concatenate(parts)


def source_frames(path: Path) -> np.ndarray:
    return soundfile.read(str(path), dtype="int32", always_2d=True)[0]


def test_replay_into_the_stack_arrives_once_losslessly_with_both_speakers(stack, audio_dir: Path, tmp_path: Path):
    source = audio_dir / "two_voices.wav"
    config = tmp_path / "edge.toml"
    config.write_text(
        f'device_id = "ag06-test"\nchannel_map = "host,guest"\nbucket = "{stack.env["MIXSCRIBE_UPLOAD_BUCKET"]}"\n'
        f'segment_s = 9.0\nquiet_window_s = 3.0\nspool_dir = "{tmp_path / "spool"}"\n'
        f'project = "{stack.env["GOOGLE_CLOUD_PROJECT"]}"\nevents_topic = "mixscribe-events"\n'
        '[options]\nnotes = "false"\n'
    )
    run = agent(stack.env, "--config", str(config), "--source", str(source), "--fast")
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    rows = spool_rows(tmp_path / "spool")
    blobs = list(stack.uploads.list_blobs(prefix="edge/ag06-test/"))
    assert [b.name for b in sorted(blobs, key=lambda b: b.name)] == [r["object_name"] for r in rows]
    assert {b.name: b.crc32c for b in blobs} == {r["object_name"]: r["crc32c"] for r in rows}
    assert all(r["state"] == "uploaded" for r in rows) and len(rows) == 2
    assert np.array_equal(stitched(blobs), source_frames(source))  # sample for sample
    assert not list((tmp_path / "spool").glob("*.flac*"))  # deleted once the bucket confirmed them

    transcripts = []
    for blob in sorted(blobs, key=lambda b: b.name):
        job = stack.wait(job_id_for(blob.bucket.name, blob.name, blob.generation))
        assert job["status"] == "done" and job["owner"] == "edge:ag06-test", job.get("error")
        transcripts.append(json.loads(stack.results.blob(f"jobs/{job['job_id']}/transcript.json").download_as_bytes()))
    host_part, guest_part = transcripts
    assert {s["speaker"] for s in host_part["segments"]} == {"host"}  # the guest mic's bleed was dropped
    assert "planning meeting" in " ".join(s["text"] for s in host_part["segments"]).lower()
    guest_text = " ".join(s["text"] for s in guest_part["segments"] if s["speaker"] == "guest").lower()
    assert "stand-up" in guest_text or "standup" in guest_text or "stand up" in guest_text
    srt = stack.results.blob(f"jobs/{host_part['job_id']}/transcript.srt").download_as_text()
    assert "host: Welcome" in srt
    uploaded_events = [
        e for e in stack.drain_events() if e["type"] == "edge.segment_uploaded" and e["attributes"]["device"] == "ag06-test"
    ]
    assert sorted(e["attributes"]["seq"] for e in uploaded_events) == [0, 1]


def test_a_storage_outage_mid_session_loses_and_duplicates_nothing(edge_gcs, audio_dir: Path, tmp_path: Path):
    source = audio_dir / "two_voices.wav"
    spool = tmp_path / "spool"
    run = agent(
        {"STORAGE_EMULATOR_HOST": edge_gcs.url},
        "--source",
        str(source),
        "--spool",
        str(spool),
        "--bucket",
        BUCKET,
        "--segment-s",
        "2",
        "--quiet-window-s",
        "0.5",
        "--exit-when-drained",
    )
    time.sleep(3)
    edge_gcs.stop()  # storage goes away while recording continues
    time.sleep(6)
    assert run.poll() is None
    edge_gcs.start()
    out, err = run.communicate(timeout=180)
    assert run.returncode == 0, err
    rows = spool_rows(spool)
    assert any(r["attempts"] > 0 for r in rows), "the outage never reached the uploader"
    blobs = list(edge_gcs.client().list_blobs(BUCKET))
    assert sorted(b.name for b in blobs) == sorted(r["object_name"] for r in rows)  # each once, none missing
    assert {b.name: b.crc32c for b in blobs} == {r["object_name"]: r["crc32c"] for r in rows}
    assert np.array_equal(stitched(blobs), source_frames(source))


def test_sigkill_mid_segment_then_restart_uploads_every_complete_segment_only(edge_gcs, audio_dir: Path, tmp_path: Path):
    source = audio_dir / "two_voices.wav"
    spool = tmp_path / "spool"
    common = ["--source", str(source), "--spool", str(spool), "--bucket", BUCKET, "--segment-s", "3", "--quiet-window-s", "0.5"]
    first = agent({"STORAGE_EMULATOR_HOST": edge_gcs.url}, *common)
    deadline = time.monotonic() + 30
    while not list(spool.glob("*-000001.flac.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.7)  # well inside the second segment
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    torn = list(spool.glob("*.flac.tmp"))
    assert torn, "the kill should leave a half-written segment"
    second = agent({"STORAGE_EMULATOR_HOST": edge_gcs.url}, *common, "--fast")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    rows = spool_rows(spool)
    sessions = sorted({r["session"] for r in rows})
    assert len(sessions) == 2
    killed = [r for r in rows if r["session"] == sessions[0]]
    assert [r["state"] for r in killed if r["state"] == "torn"] == ["torn"]
    assert not list(spool.glob("*.tmp"))
    names = sorted(b.name for b in edge_gcs.client().list_blobs(BUCKET))
    expected = sorted(r["object_name"] for r in rows if r["state"] == "uploaded")
    assert names == expected and len(names) == len([r for r in rows if r["state"] != "torn"])
    assert not any(f"/{sessions[0]}/{r['seq']:06d}.flac" in n for r in killed if r["state"] == "torn" for n in names)
    resumed = [b for b in edge_gcs.client().list_blobs(BUCKET) if f"/{sessions[1]}/" in b.name]
    assert np.array_equal(stitched(resumed), source_frames(source))  # recording resumed, whole


def test_a_full_spool_stops_recording_loudly_and_deletes_nothing(audio_dir: Path, tmp_path: Path):
    spool = tmp_path / "spool"
    offline = {"STORAGE_EMULATOR_HOST": "http://127.0.0.1:9"}  # nothing listens: uploads keep failing
    run = agent(
        offline,
        "--source",
        str(audio_dir / "two_voices.wav"),
        "--fast",
        "--spool",
        str(spool),
        "--bucket",
        BUCKET,
        "--segment-s",
        "2",
        "--quiet-window-s",
        "0.5",
        "--spool-budget-bytes",
        "900000",
        "--spool-full-hold-s",
        "1",
    )
    out, err = run.communicate(timeout=60)
    assert run.returncode == 3
    assert "spool is full" in err
    rows = spool_rows(spool)
    spooled = [r for r in rows if r["state"] == "spooled"]
    assert spooled and all(Path(r["path"]).exists() for r in spooled)
    assert sum(Path(r["path"]).stat().st_size for r in spooled) >= 900000 - 400000
    assert not [r for r in rows if r["state"] in ("uploaded", "writing")]


def test_uploads_go_in_one_request_or_in_chunks_and_a_changed_segment_never_counts_as_uploaded(edge_gcs, tmp_path: Path):
    """The uploader against fake-gcs-server: a segment up to the chunk size in one request, a larger one
    resumable in chunks, both carrying the spool's CRC32C; a segment whose bytes changed after it was
    sealed is refused (by the bucket or by the check after it) and stays in the spool."""
    import threading

    from google.api_core import exceptions as gexc

    from edge_agent.config import AgentConfig
    from edge_agent.spool import Spool
    from edge_agent.uploader import Uploader

    config = AgentConfig(spool_dir=str(tmp_path / "spool"), bucket=BUCKET, upload_chunk_bytes=256 * 1024)
    spool = Spool(config.spool)
    sizes = {1: 100_000, 2: 700_000, 3: 50_000}  # below the 256 KiB chunk, three chunks, below
    for seq, size in sizes.items():
        spool.begin("s1", seq, "2026-12-04T00:00:00+00:00", 48000, 2).write_bytes(np.random.default_rng(seq).bytes(size))
        spool.seal("s1", seq, 48000, "{}")
    changed = spool.path_for("s1", 3)  # the same size, other bytes: the disk lied, or something wrote to it
    changed.write_bytes(bytes(b ^ 0xFF for b in changed.read_bytes()))
    uploader = Uploader(config, spool, edge_gcs.client(), None, threading.Event())
    records = {r.seq: r for r in spool.pending()}
    uploader.upload(records[1])
    uploader.upload(records[2])
    with pytest.raises((gexc.BadRequest, RuntimeError)):  # the bucket's refusal, or the uploader's own comparison
        uploader.upload(records[3])
    stored = {b.name: b for b in edge_gcs.client().bucket(BUCKET).list_blobs()}
    for seq in (1, 2):
        name = uploader.object_name(records[seq])
        assert stored[name].size == sizes[seq] and stored[name].crc32c == records[seq].crc32c
    assert [r.seq for r in spool.pending()] == [3] and spool.path_for("s1", 3).exists()
