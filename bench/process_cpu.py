"""CPU seconds spent by this process and its descendants, grouped by what they are (Linux ``/proc``).

A local-stack benchmark runs the emulators, the functions and the tasks on the same cores as the
model: ``cpu_by_part`` says where a burst's CPU went (the task, each emulator, the functions, the
bench's own polling), which the throughput figures alone cannot tell. Processes that end between two
snapshots lose their share; the stack's tasks outlive a burst by their idle timeout.
"""

from __future__ import annotations

import os
from pathlib import Path

PARTS = (  # the first marker found in a process's command line names its part
    ("jobs.transcribe", "task"),
    ("cloud-firestore-emulator", "firestore emulator"),
    ("pubsub-emulator", "pubsub emulator"),
    ("fake-gcs-server", "storage emulator"),
    ("bqemulator", "bigquery emulator"),
    ("functions-framework", "functions"),
)


def _stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of ``pid``; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks  # fields 4, 14 and 15 of proc(5)


def _part(pid: str) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "other"
    return next((name for marker, name in PARTS if marker in command), "other")


def snapshot() -> dict[str, tuple[str, float]]:
    """pid → (part, CPU seconds) for this process and every descendant alive now."""
    stats = {pid: stat for pid in os.listdir("/proc") if pid.isdigit() and (stat := _stat(pid)) is not None}
    children: dict[int, list[str]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    me = str(os.getpid())
    result, stack = {}, [me]
    while stack:
        pid = stack.pop()
        if pid in stats:
            result[pid] = ("bench (this process: uploads, polling)" if pid == me else _part(pid), stats[pid][1])
            stack.extend(children.get(int(pid), []))
    return result


def cpu_by_part(before: dict[str, tuple[str, float]], after: dict[str, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per part between two snapshots, largest first."""
    totals: dict[str, float] = {}
    for pid, (part, seconds) in after.items():
        totals[part] = totals.get(part, 0.0) + seconds - (before[pid][1] if pid in before else 0.0)
    return {part: round(seconds, 1) for part, seconds in sorted(totals.items(), key=lambda kv: -kv[1])}
