"""End-to-end figures on the local stack (real emulators, real model).

P3: upload → transcript.json latency for a 10 s clip, minus the model's own time (load and
transcription, from the job's metrics.json): with no task running (the dispatcher starts one:
process start and imports count) and with a task already pulling (warm: three uploads one after the
other, the median reported, all three beside it). The cold figure is taken
once the first upload's task has idled out, so the trigger's instance is warm as it is between
uploads (a trigger instance lives for minutes, a task leaves after its idle timeout); the first
upload of the fresh stack (trigger and task both new: its clients are built on that request) is
reported beside it as ``fresh``.
P4: a burst of 50 uploads with 1 vs 2 tasks per execution (throughput ratio), and one long file
(≥ 10 minutes) with 1 vs 2 tasks (split at silences across the tasks, stitched by the last).
Re-upload: upload → done of a 1-minute file, then of the same bytes again, which the result cache
answers (goal: ≤ 5 % of the first). Priority: upload → done of a high-priority 10 s clip alone and
right after a backlog of 50 batch uploads (goal: ≤ 1.2×).

    python -m bench.stack_throughput [--burst 50] [--long-minutes 10] [--skip-p4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from local_emulators.stack import LocalStack, StackOptions
from mixscribe.jobs import job_id_for

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def clip(path: Path, seconds: float, start: float = 0.0, loop: bool = False) -> Path:
    args = (
        ["ffmpeg", "-loglevel", "error", "-y"]
        + (["-stream_loop", "-1"] if loop else [])
        + ["-ss", str(start), "-i", str(SAMPLES / "standup.opus"), "-t", str(seconds), "-ac", "1", "-c:a", "flac", str(path)]
    )
    subprocess.run(args, check=True)
    return path


class Client:
    def __init__(self, env: dict[str, str]) -> None:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import firestore, storage

        os.environ.update(env)
        self.env = env
        self.gcs = storage.Client(project=env["GOOGLE_CLOUD_PROJECT"], credentials=AnonymousCredentials())
        self.db = firestore.Client(project=env["GOOGLE_CLOUD_PROJECT"])

    def upload(self, path: Path, name: str, priority: str = "normal") -> str:
        blob = self.gcs.bucket(self.env["MIXSCRIBE_UPLOAD_BUCKET"]).blob(name)
        blob.metadata = {"notes": "false", "priority": priority}
        blob.upload_from_filename(str(path), if_generation_match=0)
        return job_id_for(blob.bucket.name, blob.name, blob.generation)

    def wait_done(self, job_ids: list[str], timeout_s: float = 1800, poll_s: float = 0.1) -> None:
        """Until every job is done or failed: one batched read of the pending jobs' status per poll
        (a read per job every 0.1 s kept the Firestore emulator busy on the cores the burst runs on)."""
        jobs = self.db.collection("jobs")
        pending, deadline = set(job_ids), time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            for snap in self.db.get_all([jobs.document(job_id) for job_id in pending], field_paths=["status"]):
                if (snap.to_dict() or {}).get("status") in ("done", "failed"):
                    pending.discard(snap.id)
            if pending:
                time.sleep(poll_s if len(pending) < 5 else 0.5)
        if pending:
            raise RuntimeError(f"{len(pending)} jobs unfinished")

    def metrics(self, job_id: str) -> dict:
        blob = self.gcs.bucket(self.env["MIXSCRIBE_RESULTS_BUCKET"]).blob(f"jobs/{job_id}/metrics.json")
        return json.loads(blob.download_as_bytes())

    def transcript_latency(self, path: Path, name: str, model_loaded_here: bool) -> dict:
        started, uploaded_at = time.monotonic(), time.time()
        job_id = self.upload(path, name)
        blob = self.gcs.bucket(self.env["MIXSCRIBE_RESULTS_BUCKET"]).blob(f"jobs/{job_id}/transcript.json")
        while not blob.exists():
            time.sleep(0.02)
        total = time.monotonic() - started
        self.wait_done([job_id], timeout_s=120)  # metrics.json is written just after the transcript
        metrics = self.metrics(job_id)
        # the model's time on this request's path: its transcription, and for a new task the time its first
        # request waited for the model (the task loads it in the background while its first pull waits)
        start = metrics.get("task_start") or {}
        waited = start.get("first_model_wait_s", metrics["model_load_s"]) if model_loaded_here else 0.0
        model_s = metrics["timings"]["transcribe_s"] + waited
        result = {"total_s": round(total, 3), "model_s": round(model_s, 3), "overhead_s": round(total - model_s, 3)}
        if model_loaded_here:
            started_at = start.pop("started_at", None)
            created_at = (self.db.collection("jobs").document(job_id).get().to_dict() or {})["created_at"].timestamp()
            # upload → job recorded: the upload, its notification, the trigger (a new stack's: its first request)
            result["upload_to_job_s"] = round(created_at - uploaded_at, 3)
            # job recorded → the task's process: the dispatch and Cloud Run's start (locally: a subprocess)
            result["job_to_task_s"] = round(started_at - created_at, 3) if started_at else None
            result["task_start"] = start  # interpreter, imports, clients, first pull: where a cold start goes
            result["model_load_s"] = metrics["model_load_s"]
        return result


def stack(root: Path, tasks: int, **extra: str) -> tuple[LocalStack, Client]:
    # the result cache off: a burst uploads one clip many times, and each must be transcribed to measure it
    env_extra = {"MIXSCRIBE_SHARD_MIN_S": "300", "MIXSCRIBE_RESULT_CACHE": "false", **extra}
    # one execution per burst (debounce longer than the uploads take), its tasks leave 20 s after the queue empties
    local = LocalStack(
        root, StackOptions(transcribe_tasks=tasks, idle_timeout_s=20, dispatch_debounce_s=15, service_env=env_extra)
    )
    return local, Client(local.start())


def p3(root: Path, short: Path) -> dict:
    local, client = stack(root / "p3", 1)
    try:
        fresh = client.transcript_latency(short, "users/bench/fresh.flac", model_loaded_here=True)
        # the task from `fresh` is still pulling: three uploads one after the other, the median reported
        warms = [client.transcript_latency(short, f"users/bench/warm-{i}.flac", model_loaded_here=False) for i in range(3)]
        warm = {**sorted(warms, key=lambda w: w["overhead_s"])[1], "overheads_s": [w["overhead_s"] for w in warms]}
        time.sleep(24)  # that task idles out (20 s) and the dispatch window (15 s) closes; the trigger stays up
        cold = client.transcript_latency(short, "users/bench/cold.flac", model_loaded_here=True)
    finally:
        local.stop()
    return {"cold": cold, "warm": warm, "fresh": fresh}


def reupload(root: Path, minute: Path) -> dict:
    """Upload → done of a 1-minute file, then of the same bytes again (the result cache answers it)."""
    local, client = stack(root / "cache", 1, MIXSCRIBE_RESULT_CACHE="true")
    try:
        times = []
        for name in ("first.flac", "again.flac"):
            started = time.monotonic()
            client.wait_done([client.upload(minute, f"users/bench/{name}")])
            times.append(time.monotonic() - started)
    finally:
        local.stop()
    return {"first_s": round(times[0], 3), "reupload_s": round(times[1], 3), "ratio": round(times[1] / times[0], 4)}


def high_behind_batch(root: Path, short: Path, files: list[Path]) -> dict:
    """Upload → done of a high-priority clip alone, then right after a backlog of batch uploads."""
    local, client = stack(root / "priority", 1)
    try:
        started = time.monotonic()
        client.wait_done([client.upload(short, "users/bench/high-alone.flac", priority="high")])
        alone = time.monotonic() - started
        time.sleep(24)  # its task idles out: the second run starts cold as well
        backlog = [client.upload(path, f"users/bench/batch-{i}.flac", priority="batch") for i, path in enumerate(files)]
        started = time.monotonic()
        client.wait_done([client.upload(short, "users/bench/high-behind.flac", priority="high")])
        behind = time.monotonic() - started
        client.wait_done(backlog)
    finally:
        local.stop()
    return {"alone_s": round(alone, 3), "behind_backlog_s": round(behind, 3), "ratio": round(behind / alone, 3)}


def burst(root: Path, tasks: int, files: list[Path], long_file: Path) -> dict:
    local, client = stack(root / f"p4-{tasks}", tasks)
    try:
        started = time.monotonic()
        ids = [client.upload(path, f"users/bench/burst-{i}.flac") for i, path in enumerate(files)]
        client.wait_done(ids)
        burst_s = time.monotonic() - started
        time.sleep(24)  # the burst's tasks idle out and the debounce window passes: the long file gets a fresh execution
        started = time.monotonic()
        long_id = client.upload(long_file, "users/bench/long.flac")
        client.wait_done([long_id])
        long_s = time.monotonic() - started
        shards = json.loads(
            client.gcs.bucket(client.env["MIXSCRIBE_RESULTS_BUCKET"]).blob(f"jobs/{long_id}/transcript.json").download_as_bytes()
        )["options"].get("shards", 1)
    finally:
        local.stop()
    return {
        "tasks": tasks,
        "burst_s": round(burst_s, 2),
        "jobs_per_min": round(len(files) / burst_s * 60, 2),
        "long_s": round(long_s, 2),
        "long_pieces": shards,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--long-minutes", type=float, default=10)
    parser.add_argument("--skip-p4", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        short = clip(root / "ten.flac", 10)
        result: dict = {"p3": p3(root, short), "reupload": reupload(root, clip(root / "minute.flac", 60, loop=True))}
        if not args.skip_p4:
            files = [clip(root / f"b{i}.flac", 6, start=(i * 7) % 70) for i in range(args.burst)]
            result["priority"] = high_behind_batch(root, short, files)
            long_file = clip(root / "long.flac", args.long_minutes * 60, loop=True)
            one, two = burst(root, 1, files, long_file), burst(root, 2, files, long_file)
            result["p4"] = {
                "one_task": one,
                "two_tasks": two,
                "burst_throughput_ratio": round(two["jobs_per_min"] / one["jobs_per_min"], 2),
                "long_file_speedup": round(one["long_s"] / two["long_s"], 2),
            }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
