"""Executions sized to the backlog: how many tasks a dispatch starts.

A dispatch wants enough tasks to clear the queued work within ``drain_target_s``: each queued file
costs its audio divided by a task's speed plus a fixed per-file cost (download, decode, outputs),
never more tasks than there are pieces of work (a file is one; a long file as many pieces as the
planner may cut it into), nor more than the job's maximum. Tasks of executions still running count
against it. The capacity model (``bench/capacity_model.py``) simulates days with this same rule.

``Dispatcher.dispatch`` runs it at most three times per debounce window: at once (the first upload
of a burst starts a task without waiting), ``EARLY_CHECK_S`` later (a burst that lands at once gets
its tasks within seconds) and when the window ends (the rest of a longer burst, which arrived while
the window was held, gets its tasks).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .logs import fields

if TYPE_CHECKING:
    from .config import Settings

log = logging.getLogger(__name__)
EARLY_CHECK_S = 2.0


def max_pieces(duration_s: float, shard_min_s: float) -> int:
    """The most pieces the planner may cut a file into: each at least half of ``shard_min_s``; 1 below it."""
    if duration_s < shard_min_s:
        return 1
    return max(2, int(duration_s // max(1.0, shard_min_s / 2)))


@dataclass(frozen=True)
class Backlog:
    """The queued work: jobs, their audio, and the pieces they can be split into."""

    jobs: int = 0
    audio_s: float = 0.0
    pieces: int = 0


@dataclass(frozen=True)
class SizingRule:
    speed_x: float  # audio seconds one task transcribes per second
    file_overhead_s: float  # per file: download, decode, outputs, status writes
    drain_target_s: float  # clear the backlog within this
    max_tasks: int

    def wanted(self, backlog: Backlog) -> int:
        """Tasks that clear ``backlog`` within the drain target (0 when nothing is queued)."""
        if backlog.jobs <= 0:
            return 0
        work_s = backlog.audio_s / self.speed_x + backlog.jobs * self.file_overhead_s
        return max(1, min(self.max_tasks, max(1, backlog.pieces), math.ceil(work_s / self.drain_target_s)))

    def to_start(self, backlog: Backlog, live_tasks: int) -> int:
        return max(0, self.wanted(backlog) - live_tasks)


class Launcher(Protocol):
    def run(self, task_count: int) -> str: ...

    def live_tasks(self) -> int: ...


class DispatchWindow(Protocol):
    def try_dispatch(self, job_name: str, debounce_s: int) -> bool: ...

    def clear_dispatch(self, job_name: str) -> None: ...


class QueueLedger(DispatchWindow, Protocol):
    """The dispatch window and the backlog (the job repository is one)."""

    def backlog(self, shard_min_s: float) -> Backlog: ...


class Dispatcher:
    def __init__(
        self,
        job_name: str,
        rule: SizingRule,
        debounce_s: int,
        window: DispatchWindow,
        backlog: Callable[[], Backlog],
        launcher: Launcher,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.job_name = job_name
        self.rule = rule
        self.debounce_s = debounce_s
        self.window = window
        self.backlog = backlog
        self.launcher = launcher
        self.sleep = sleep

    def top_up(self) -> tuple[int, int]:
        """Start the tasks the backlog still needs; (started, live before)."""
        backlog = self.backlog()
        live = self.launcher.live_tasks()
        count = self.rule.to_start(backlog, live)
        if count:
            execution = self.launcher.run(count)
            log.info(
                "dispatched",
                extra=fields(
                    job=self.job_name,
                    tasks=count,
                    live_tasks=live,
                    queued_jobs=backlog.jobs,
                    queued_audio_s=round(backlog.audio_s, 1),
                    execution=execution,
                ),
            )
        return count, live

    def dispatch(self) -> None:
        """Leading and trailing top-up of one debounce window; nothing when another caller holds it."""
        if not self.window.try_dispatch(self.job_name, self.debounce_s):
            return
        try:
            started, live = self.top_up()
        except Exception:
            self.window.clear_dispatch(self.job_name)  # the next upload tries again
            raise
        checks = [EARLY_CHECK_S, self.debounce_s] if self.debounce_s > EARLY_CHECK_S else [self.debounce_s]
        waited = 0.0
        for at in checks:
            if started + live >= self.rule.max_tasks:
                return
            self.sleep(at - waited)
            waited = at
            started, live = self.top_up()


def dispatcher_for(settings: Settings, store: QueueLedger, launcher: Launcher | None) -> Dispatcher | None:
    """The dispatcher of ``MIXSCRIBE_TRANSCRIBE_JOB`` sized by the settings; ``None`` without a launcher."""
    if launcher is None:
        return None
    rule = SizingRule(settings.task_speed_x, settings.file_overhead_s, settings.drain_target_s, settings.transcribe_tasks)
    return Dispatcher(
        settings.transcribe_job, rule, settings.dispatch_debounce_s, store, lambda: store.backlog(settings.shard_min_s), launcher
    )
