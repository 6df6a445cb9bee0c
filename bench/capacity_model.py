"""Capacity and cost model (docs/capacity.md explains every input and cites it).

1. Steady state: tasks, executions and dollars per hour to transcribe ``--audio-hours-per-hour``
   on Cloud Run L4 GPU tasks and on CPU tasks, and the cost per audio hour next to managed APIs.
2. A bursty day: a minute-by-minute simulation of the dispatcher sizing executions to the backlog
   with the rule the dispatcher runs (``mixscribe.dispatch.SizingRule``; debounced, tasks idle out),
   reporting queue delay, task-hours and cost.

    python -m bench.capacity_model [--audio-hours-per-hour 10000] [--l4-speed 30]
"""

from __future__ import annotations

import argparse
import json
import math
import random
from dataclasses import dataclass

from mixscribe.dispatch import Backlog, SizingRule

# Cloud Run list prices, us-central1, instance-based billing (docs/capacity.md cites them).
VCPU_S = 0.000018
GIB_S = 0.000002
L4_S = 0.0001867
# Per audio hour of managed speech-to-text, list prices (docs/capacity.md cites them).
MANAGED = {
    "OpenAI whisper-1": 0.36,
    "OpenAI gpt-4o-mini-transcribe": 0.18,
    "Google Speech-to-Text V2 standard": 0.96,
    "AssemblyAI Universal": 0.15,
}
MAX_TASKS_PER_EXECUTION = 1000  # Cloud Run jobs: at most 10,000 tasks, parallelism up to 1,000 (see doc)


@dataclass(frozen=True)
class TaskShape:
    name: str
    vcpu: int
    gib: int
    gpu: bool
    speed_x: float  # audio seconds per task second (real-time multiple)
    startup_s: float  # instance start + model load, paid per task

    @property
    def dollars_per_s(self) -> float:
        return self.vcpu * VCPU_S + self.gib * GIB_S + (L4_S if self.gpu else 0.0)


def steady_state(audio_hours_per_hour: float, shape: TaskShape, file_minutes: float = 30.0) -> dict:
    busy_tasks = audio_hours_per_hour / shape.speed_x
    files_per_task_hour = 60.0 / file_minutes * shape.speed_x
    utilisation = 1 - shape.startup_s / 3600.0  # one start per task-hour (tasks pull until idle)
    tasks = math.ceil(busy_tasks / utilisation)
    per_hour = tasks * shape.dollars_per_s * 3600
    return {
        "shape": shape.name,
        "speed_x": shape.speed_x,
        "concurrent_tasks": tasks,
        "executions": math.ceil(tasks / MAX_TASKS_PER_EXECUTION),
        "files_per_task_hour": round(files_per_task_hour, 1),
        "dollars_per_hour": round(per_hour, 2),
        "dollars_per_audio_hour": round(per_hour / audio_hours_per_hour, 4),
    }


def bursty_day(
    shape: TaskShape,
    mean_audio_hours_per_hour: float,
    seed: int = 7,
    debounce_min: int = 1,
    idle_min: int = 2,
    drain_target_min: float = 10.0,
    max_tasks: int = 5000,
    file_minutes: float = 30.0,
    file_overhead_s: float = 1.0,
) -> dict:
    """Minute steps: arrivals (diurnal curve + random bursts), a dispatcher that every ``debounce_min``
    starts the tasks ``SizingRule`` asks for (backlog drained within ``drain_target_min``), tasks that idle out."""
    rule = SizingRule(shape.speed_x, file_overhead_s, drain_target_min * 60, max_tasks)
    rng = random.Random(seed)
    backlog = 0.0  # audio-hours waiting
    running: list[int] = []  # minutes each live task has been idle
    waits: list[float] = []
    task_minutes = 0
    starts = 0
    executions = 0
    audio_hours = 0.0
    per_task_min = shape.speed_x / 60.0  # audio hours one task clears per minute
    for minute in range(24 * 60):
        diurnal = 0.25 + 1.5 * max(0.0, math.sin(math.pi * (minute / 60 - 6) / 14)) if 6 <= minute / 60 <= 20 else 0.25
        burst = 6.0 if rng.random() < 0.01 else 1.0  # a conference ends: everybody uploads at once
        arrived = mean_audio_hours_per_hour / 60.0 * diurnal * burst * rng.uniform(0.7, 1.3)
        backlog += arrived
        audio_hours += arrived
        if minute % debounce_min == 0:
            files = math.ceil(backlog * 60 / file_minutes)
            new = rule.to_start(Backlog(files, backlog * 3600, files), len(running))
            if new:
                running += [0] * new
                starts += new
                executions += math.ceil(new / MAX_TASKS_PER_EXECUTION)
        capacity = len(running) * per_task_min * (1 - shape.startup_s / 60.0 / max(1, len(running)))
        cleared = min(backlog, capacity)
        waits.append(backlog / max(capacity, 1e-9) if backlog > cleared else 0.0)
        backlog -= cleared
        idle_share = 1 - cleared / capacity if capacity else 1.0
        running = [(idle + 1 if idle_share > 0.5 else 0) for idle in running]
        running = [idle for idle in running if idle < idle_min]
        task_minutes += len(running)
    waits.sort()
    cost = task_minutes * 60 * shape.dollars_per_s + starts * shape.startup_s * shape.dollars_per_s
    return {
        "shape": shape.name,
        "audio_hours": round(audio_hours, 1),
        "task_hours": round(task_minutes / 60, 1),
        "task_starts": starts,
        "executions": executions,
        "queue_minutes_p50": round(waits[len(waits) // 2], 2),
        "queue_minutes_p95": round(waits[int(len(waits) * 0.95)], 2),
        "queue_minutes_max": round(waits[-1], 2),
        "dollars": round(cost, 2),
        "dollars_per_audio_hour": round(cost / audio_hours, 4),
    }


def per_class(audio_hours_per_hour: float, batch_share: float, gpu: TaskShape, cpu: TaskShape) -> dict:
    """Each transcription class on its hardware with its registry model, and what sending the batch
    share of the audio to the CPU class costs or saves against running all of it on the GPU class."""
    gpu_rate = steady_state(audio_hours_per_hour, gpu)["dollars_per_audio_hour"]
    cpu_rate = steady_state(audio_hours_per_hour, cpu)["dollars_per_audio_hour"]
    all_gpu = audio_hours_per_hour * gpu_rate
    split = audio_hours_per_hour * ((1 - batch_share) * gpu_rate + batch_share * cpu_rate)
    return {
        "gpu_class": {"shape": gpu.name, "speed_x": gpu.speed_x, "dollars_per_audio_hour": gpu_rate},
        "cpu_class": {"shape": cpu.name, "speed_x": cpu.speed_x, "dollars_per_audio_hour": cpu_rate},
        "batch_share": batch_share,
        "dollars_per_hour_all_on_gpu": round(all_gpu, 2),
        "dollars_per_hour_batch_on_cpu": round(split, 2),
        "saving_per_hour": round(all_gpu - split, 2),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--audio-hours-per-hour", type=float, default=10000)
    parser.add_argument("--l4-speed", type=float, default=30.0, help="tiny.en on an L4, × real time (assumed, see doc)")
    parser.add_argument(
        "--cpu-speed",
        type=float,
        default=12.0,
        help="tiny.en on 4 vCPU, × real time (between the measured 2-core 8-9.5× and 16-core 22×)",
    )
    parser.add_argument("--batch-share", type=float, default=0.3, help="share of the audio uploaded as priority batch")
    parser.add_argument("--turbo-l4-speed", type=float, default=40.0, help="large-v3-turbo on an L4, × real time (assumed)")
    parser.add_argument("--small-cpu-speed", type=float, default=2.5, help="small on 4 vCPU int8, × real time (assumed)")
    parser.add_argument("--base-cpu-speed", type=float, default=6.6, help="base on 4 vCPU int8 (measured ratio to tiny.en)")
    args = parser.parse_args(argv)
    gpu = TaskShape("L4 GPU task (4 vCPU, 16 GiB, 1 L4)", 4, 16, True, args.l4_speed, 25.0)
    cpu = TaskShape("CPU task (4 vCPU, 8 GiB)", 4, 8, False, args.cpu_speed, 10.0)
    result = {
        "steady": [steady_state(args.audio_hours_per_hour, shape) for shape in (gpu, cpu)],
        "managed_dollars_per_audio_hour": MANAGED,
        "bursty_day": [bursty_day(shape, args.audio_hours_per_hour) for shape in (gpu, cpu)],
        "per_class": [
            per_class(
                args.audio_hours_per_hour,
                args.batch_share,
                TaskShape("L4 task, large-v3-turbo", 4, 16, True, args.turbo_l4_speed, 40.0),
                TaskShape(f"CPU task, {model}", 4, 8, False, speed, 15.0),
            )
            for model, speed in (("small", args.small_cpu_speed), ("base", args.base_cpu_speed), ("tiny.en", args.cpu_speed))
        ],
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
