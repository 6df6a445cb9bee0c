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
from .topology import WORK_QUEUES

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
    """The dispatch window and the backlog of some priorities (the job repository is one)."""

    def backlog(self, shard_min_s: float, priorities: tuple[str, ...]) -> Backlog: ...


class Dispatcher:
    """Sizes executions of one job for one queue. ``urgent`` (high priority): no window, and tasks for
    the queue's own backlog whatever the job's live tasks are busy with (within its maximum), so an
    urgent request never waits behind the job's other work."""

    def __init__(
        self,
        job_name: str,
        rule: SizingRule,
        debounce_s: int,
        window: DispatchWindow,
        backlog: Callable[[], Backlog],
        launcher: Launcher,
        sleep: Callable[[float], None] = time.sleep,
        window_key: str = "",
        urgent: bool = False,
    ) -> None:
        self.job_name = job_name
        self.rule = rule
        self.debounce_s = debounce_s
        self.window = window
        self.backlog = backlog
        self.launcher = launcher
        self.sleep = sleep
        self.window_key = window_key or job_name
        self.urgent = urgent

    def top_up(self) -> tuple[int, int]:
        """Start the tasks the backlog still needs; (started, live before)."""
        backlog = self.backlog()
        live = self.launcher.live_tasks()
        if self.urgent:
            count = max(0, min(self.rule.max_tasks - live, self.rule.wanted(backlog)))
        else:
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
        if self.urgent:
            self.top_up()
            return
        if not self.window.try_dispatch(self.window_key, self.debounce_s):
            return
        try:
            started, live = self.top_up()
        except Exception:
            self.window.clear_dispatch(self.window_key)  # the next upload tries again
            raise
        checks = [EARLY_CHECK_S, self.debounce_s] if self.debounce_s > EARLY_CHECK_S else [self.debounce_s]
        waited, fresh = 0.0, started
        for at in checks:
            # Only tasks this window started are sure to take what comes next: a task that was already live
            # may be leaving (past its idle timeout, counted until its execution is marked finished).
            if fresh and fresh + live >= self.rule.max_tasks:
                return
            self.sleep(at - waited)
            waited = at
            started, live = self.top_up()
            fresh += started


class QueueDispatch:
    """One dispatcher per work queue (``mixscribe.topology.WORK_QUEUES``): its job, window and sizing."""

    def __init__(self, dispatchers: dict[str, Dispatcher]) -> None:
        self.dispatchers = dispatchers

    def dispatch(self, priority: str) -> None:
        self.dispatchers[priority].dispatch()


def dispatcher_for(
    settings: Settings, store: QueueLedger, launcher_for: Callable[[str], Launcher | None]
) -> QueueDispatch | None:
    """The dispatchers of every queue, sized by the settings; ``None`` without a launcher."""
    dispatchers: dict[str, Dispatcher] = {}
    for queue in WORK_QUEUES:
        job = settings.job_for(queue)
        launcher = launcher_for(job)
        if launcher is None:
            return None
        urgent = queue.debounce == "none"
        same_job = tuple(q.priority for q in WORK_QUEUES if settings.job_for(q) == job)
        counted = (queue.priority,) if urgent else same_job

        def backlog(priorities: tuple[str, ...] = counted) -> Backlog:
            return store.backlog(settings.shard_min_s, priorities)

        speed = settings.task_speed_x if settings.job_for(queue) == settings.gpu_job else settings.cpu_task_speed_x
        rule = SizingRule(speed, settings.file_overhead_s, settings.drain_target_s, settings.transcribe_tasks)
        debounce = settings.batch_debounce_s if queue.debounce == "long" else settings.dispatch_debounce_s
        dispatchers[queue.priority] = Dispatcher(
            job, rule, debounce, store, backlog, launcher, window_key=f"{job}-{queue.priority}", urgent=urgent
        )
    return QueueDispatch(dispatchers)
