"""Dispatch sizing on in-memory fakes of its ports: the backlog decides how many tasks start."""

from __future__ import annotations

from mixscribe.dispatch import Backlog, Dispatcher, SizingRule, max_pieces

RULE = SizingRule(speed_x=30.0, file_overhead_s=1.0, drain_target_s=60, max_tasks=20)


class FakeLauncher:
    def __init__(self, live: int = 0) -> None:
        self.live = live
        self.started: list[int] = []

    def run(self, task_count: int) -> str:
        self.started.append(task_count)
        self.live += task_count
        return f"execution-{len(self.started)}"

    def live_tasks(self) -> int:
        return self.live


class FakeWindow:
    """The debounce document: the first caller of a window holds it."""

    def __init__(self) -> None:
        self.held = False
        self.cleared = 0

    def try_dispatch(self, job_name: str, debounce_s: int) -> bool:
        taken, self.held = not self.held, True
        return taken

    def clear_dispatch(self, job_name: str) -> None:
        self.held = False
        self.cleared += 1


def test_one_short_upload_starts_one_task_not_the_maximum():
    """Defect: every dispatch started the job's maximum (20 L4 tasks in the default stack)."""
    assert RULE.to_start(Backlog(jobs=1, audio_s=8.4, pieces=1), live_tasks=0) == 1


def test_tasks_grow_with_the_queued_work_and_stop_at_the_maximum():
    hour_of_clips = Backlog(jobs=120, audio_s=3600, pieces=120)  # 120 s of model + 120 s of per-file work
    assert RULE.wanted(hour_of_clips) == 4
    assert RULE.to_start(hour_of_clips, live_tasks=3) == 1
    assert RULE.to_start(hour_of_clips, live_tasks=6) == 0
    assert RULE.wanted(Backlog(jobs=10_000, audio_s=3_600_000, pieces=10_000)) == 20
    assert RULE.wanted(Backlog()) == 0


def test_a_long_file_takes_as_many_tasks_as_it_has_pieces():
    assert max_pieces(3 * 3600, shard_min_s=600) == 36 and max_pieces(599, 600) == 1
    long_file = Backlog(jobs=1, audio_s=3 * 3600, pieces=max_pieces(3 * 3600, 600))
    assert RULE.wanted(long_file) == 7  # 360 s of model over a 60 s target
    assert RULE.wanted(Backlog(jobs=1, audio_s=3 * 3600, pieces=1)) == 1  # one piece: one task


def test_a_burst_gets_its_tasks_within_seconds_and_its_tail_when_the_window_ends():
    arrivals = [
        Backlog(jobs=1, audio_s=10, pieces=1),
        Backlog(jobs=400, audio_s=4000, pieces=400),
        Backlog(jobs=900, audio_s=9000, pieces=900),
    ]
    backlog = [arrivals.pop(0)]
    launcher, window, naps = FakeLauncher(), FakeWindow(), []

    def nap(seconds: float) -> None:  # more of the burst lands while the window is held
        naps.append(seconds)
        backlog[0] = arrivals.pop(0)

    dispatcher = Dispatcher("transcribe", RULE, 15, window, lambda: backlog[0], launcher, sleep=nap)
    dispatcher.dispatch()
    # at once for the first file, 2 s later for the burst, at the window's end for its tail
    assert launcher.started == [1, 8, 11] and naps == [2.0, 13.0]
    dispatcher.dispatch()  # the window is held: nothing more
    assert launcher.started == [1, 8, 11]


def test_no_waiting_once_the_maximum_runs():
    naps: list[float] = []
    dispatcher = Dispatcher(
        "transcribe", RULE, 15, FakeWindow(), lambda: Backlog(10_000, 3_600_000, 10_000), FakeLauncher(), sleep=naps.append
    )
    dispatcher.dispatch()
    assert naps == []


def test_a_task_already_live_does_not_end_the_window_early_it_may_be_leaving():
    """Defect: a window opened while the only task was leaving (its execution not yet marked finished) ended
    at once, trusting that task; the upload right after it found the window held and waited forever."""
    launcher = FakeLauncher(live=1)
    leaving_rule = SizingRule(speed_x=30.0, file_overhead_s=1.0, drain_target_s=60, max_tasks=1)
    backlog = [Backlog(jobs=1, audio_s=10, pieces=1)]
    naps: list[float] = []

    def nap(seconds: float) -> None:  # the task's execution finishes; another upload lands in the window
        naps.append(seconds)
        launcher.live = 0
        backlog[0] = Backlog(jobs=2, audio_s=20, pieces=2)

    Dispatcher("transcribe", leaving_rule, 5, FakeWindow(), lambda: backlog[0], launcher, sleep=nap).dispatch()
    assert launcher.started == [1] and naps[0] == 2.0  # the early check started the task the queue needs


def test_a_failed_launch_frees_the_window():
    class Down(FakeLauncher):
        def run(self, task_count: int) -> str:
            raise ConnectionError("run API unavailable")

    window = FakeWindow()
    dispatcher = Dispatcher("transcribe", RULE, 15, window, lambda: Backlog(1, 5, 1), Down(), sleep=lambda s: None)
    try:
        dispatcher.dispatch()
    except ConnectionError:
        pass
    assert window.cleared == 1 and not window.held


class FakeLedger(FakeWindow):
    """Windows per key and a backlog per priority."""

    def __init__(self, queued: dict[str, Backlog]) -> None:
        super().__init__()
        self.queued = queued
        self.windows: set[str] = set()

    def try_dispatch(self, job_name: str, debounce_s: int) -> bool:
        taken = job_name not in self.windows
        self.windows.add(job_name)
        return taken

    def backlog(self, shard_min_s: float, priorities: tuple[str, ...]) -> Backlog:
        parts = [self.queued.get(p, Backlog()) for p in priorities]
        return Backlog(sum(b.jobs for b in parts), sum(b.audio_s for b in parts), sum(b.pieces for b in parts))


def test_each_priority_dispatches_its_own_job_and_high_never_waits_behind_the_others():
    from mixscribe.config import Settings
    from mixscribe.dispatch import dispatcher_for

    settings = Settings.from_env({}, transcribe_tasks=4, dispatch_debounce_s=0, batch_debounce_s=0)
    launchers = {settings.gpu_job: FakeLauncher(live=2), settings.cpu_job: FakeLauncher()}  # two GPU tasks busy
    ledger = FakeLedger({"normal": Backlog(2, 20, 2), "batch": Backlog(50, 500, 50), "high": Backlog(1, 10, 1)})
    queues = dispatcher_for(settings, ledger, launchers.get)
    assert queues is not None
    queues.dispatch("normal")  # the two live GPU tasks already cover high + normal: nothing new
    queues.dispatch("batch")
    assert launchers[settings.gpu_job].started == [] and launchers[settings.cpu_job].started == [2]  # 500 s at 9×, 50 files
    queues.dispatch("high")  # its own task at once, though the GPU job's live tasks could take it later
    queues.dispatch("high")  # and again: high has no window (a second upload gets a task too)
    assert launchers[settings.gpu_job].started == [1, 1]
    assert {d.job_name for p, d in queues.dispatchers.items() if p != "batch"} == {settings.gpu_job}
