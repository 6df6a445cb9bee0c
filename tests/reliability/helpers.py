"""Shared moves of the reliability suites: redelivering storage events, finding stack processes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterable

import requests

from local_emulators.eventarc import cloud_event_request


def storage_event(blob: Any, message_id: str) -> tuple[dict[str, str], bytes]:
    """The CloudEvent Eventarc sends for ``blob``'s finalize (same shape the local bridge sends)."""
    blob.reload()
    return cloud_event_request({"bucketId": blob.bucket.name, "objectId": blob.name}, json.dumps(blob._properties).encode(), message_id)


def deliver(session: requests.Session, url: str, event: tuple[dict[str, str], bytes]) -> int:
    headers, body = event
    return session.post(url, data=body, headers=headers, timeout=120).status_code


def stack_processes(stack_env: dict[str, str], needle: str) -> list[int]:
    """PIDs of this stack's processes (by its function's address) whose command line holds ``needle``."""
    marker = f"MIXSCRIBE_FUNCTION_URL={stack_env['MIXSCRIBE_FUNCTION_URL']}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            if needle.encode() in cmdline and marker in (proc / "environ").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def wait_all(stack: Any, job_ids: Iterable[str], statuses: tuple[str, ...] = ("done", "failed"), timeout_s: float = 600,
             labels: dict[str, str] | None = None) -> dict[str, dict]:
    """Every job's document once all are in ``statuses`` (batched reads)."""
    pending = set(job_ids)
    docs: dict[str, dict] = {}
    deadline = time.monotonic() + timeout_s
    refs = {job_id: stack.db.collection("jobs").document(job_id) for job_id in pending}
    while pending and time.monotonic() < deadline:
        for snap in stack.db.get_all([refs[j] for j in pending]):
            doc = snap.to_dict() if snap.exists else None
            if doc and doc["status"] in statuses:
                docs[snap.id] = doc
        pending -= docs.keys()
        if pending:
            time.sleep(0.5)
    if pending:
        states = {j: (stack.job(j) or {}) for j in pending}
        summary = {(labels or {}).get(j, j): (d.get("status"), d.get("attempts")) for j, d in states.items()}
        raise AssertionError(f"{len(pending)} jobs unfinished after {timeout_s} s: {summary}")
    return docs
