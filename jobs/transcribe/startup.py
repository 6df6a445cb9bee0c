"""Where a task's start goes: interpreter, imports, clients, the first pull and the model, in seconds.

``__main__`` stamps ``marks`` as the task comes up; the first request a task handles carries them in its
``metrics.json`` (``task_start``), so a cold start can be read off any job (``make bench`` reads P3's).
This module imports nothing heavy: it is the first thing ``__main__`` loads.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ENTERED = time.monotonic()  # this module is imported first: the interpreter is up


def process_age_s() -> float | None:
    """Seconds since this process was created (Linux's /proc; None elsewhere)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime_s = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime_s - int(fields[19]) / os.sysconf("SC_CLK_TCK"))  # field 22: starttime, in ticks
    except (OSError, ValueError, IndexError):
        return None


INTERPRETER_S = process_age_s()  # process creation → Python running our code
PROCESS_STARTED_AT = round(time.time() - (INTERPRETER_S or 0.0), 3)  # wall clock, to line up with the job's own times


class Marks:
    """Phase durations since ``ENTERED``, in the order the task reaches them."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        if INTERPRETER_S is not None:
            self.phases["interpreter_s"] = round(INTERPRETER_S, 3)
        self._last = ENTERED

    def mark(self, phase: str) -> None:
        now = time.monotonic()
        self.phases[f"{phase}_s"] = round(now - self._last, 3)
        self._last = now

    def total_s(self) -> float:
        return round(sum(self.phases.values()), 3)


MARKS = Marks()
