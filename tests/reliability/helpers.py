"""Shared moves of the reliability suites: finding stack processes, their memory, waiting for many jobs."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def stack_processes(stack_env: dict[str, str], needle: str = "", service: str = "") -> list[int]:
    """PIDs of this stack's processes (by its function's address) whose command line holds ``needle``
    or whose environment holds ``service`` (``K_SERVICE=on_upload`` for a function run from its archive,
    ``CLOUD_RUN_EXECUTION=`` for the job's tasks; the Run API stand-in's own command line names the tasks' CMD)."""
    marker = f"MIXSCRIBE_FUNCTION_URL={stack_env['MIXSCRIBE_FUNCTION_URL']}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            environ = (proc / "environ").read_bytes().split(b"\0")
            if marker not in environ:
                continue
            if (needle and needle.encode() in cmdline) or (service and any(v.startswith(service.encode()) for v in environ)):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def wait_all(
    stack: Any,
    job_ids: Iterable[str],
    statuses: tuple[str, ...] = ("done", "failed"),
    timeout_s: float = 600,
    labels: dict[str, str] | None = None,
) -> dict[str, dict]:
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
