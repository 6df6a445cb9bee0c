"""Events per second through the analytics pipeline (batch and streaming DirectRunner), and the
DuckDB time of each example query over the resulting warehouse.

    python -m bench.analytics_throughput [--events 100000] [--streaming-events 20000]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mixscribe.event_types import body_of
from mixscribe.events import make_event

TYPES = ["job.queued", "job.started", "job.transcribed", "job.notes_ready", "job.completed"]


def synthetic_events(count: int, seed: int = 7) -> list[str]:
    """``count`` events of complete jobs spread over three days, 5 % failed, 2 % duplicated."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    lines: list[str] = []
    job = 0
    while len(lines) < count:
        job += 1
        at = start + timedelta(seconds=rng.uniform(0, 3 * 86400))
        owner = rng.choice(["alice", "bob", "edge:ag06-1", "edge:ag06-2"])
        failed = rng.random() < 0.05
        kinds = TYPES[:2] + (["job.failed"] if failed else TYPES[2:])
        for i, kind in enumerate(kinds):
            attrs: dict[str, Any] = {"owner": owner, "options": {"model": "tiny.en"}} if kind == "job.queued" else {}
            if kind == "job.transcribed":
                attrs = {"duration_s": rng.uniform(30, 3600), "real_time_factor": 0.1, "loudness_lufs": rng.uniform(-30, -12)}
            if kind == "job.failed":
                attrs = {"code": rng.choice(["corrupt_audio", "too_long"])}
            event = (
                make_event(body_of(kind, attrs), f"bench{job}", "bench", str(i), now=at + timedelta(seconds=5 * i))
                .to_json()
                .decode()
            )
            lines.append(event)
            if rng.random() < 0.02:
                lines.append(event)
    return lines[:count]


def batch_rate(lines: list[str], workdir: Path) -> tuple[float, Path]:
    from beam_pipelines.analytics.pipeline import run

    events_file = workdir / "events.jsonl"
    events_file.write_text("\n".join(lines) + "\n")
    warehouse = workdir / "batch.duckdb"
    started = time.perf_counter()
    run(["events-file", "--events-file", str(events_file), "--warehouse", str(warehouse)])
    return len(lines) / (time.perf_counter() - started), warehouse


def streaming_rate(lines: list[str], workdir: Path) -> float:
    """The streaming DirectRunner over in-memory events with the same transforms and sinks."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    from beam_pipelines.analytics.pipeline import LOCAL_RUNNERS
    from beam_pipelines.analytics.sinks import WriteTable
    from beam_pipelines.analytics.transforms import BuildJobRows, DedupeEvents, EventRows, HourlyStats, ParseEvents
    from mixscribe.warehouse import EVENTS, HOURLY, JOBS

    options = PipelineOptions([f"--runner={LOCAL_RUNNERS['streaming']}"])
    options.view_as(StandardOptions).streaming = True
    warehouse = str(workdir / "streaming.duckdb")
    started = time.perf_counter()
    with beam.Pipeline(options=options) as p:
        parsed = p | beam.Create([line.encode() for line in lines]) | ParseEvents()
        events = parsed.events | DedupeEvents(streaming=True)
        events | EventRows() | WriteTable(EVENTS, warehouse_path=warehouse)
        rows = events | BuildJobRows()
        rows | "Jobs" >> WriteTable(JOBS, warehouse_path=warehouse)
        rows | HourlyStats(streaming=False) | "Hourly" >> WriteTable(HOURLY, warehouse_path=warehouse)
    return len(lines) / (time.perf_counter() - started)


def query_times(warehouse: Path) -> dict[str, float]:
    from beam_pipelines.analytics.report import query_names, run_named

    times = {}
    for name in query_names():
        started = time.perf_counter()
        run_named(warehouse, name)
        times[name] = (time.perf_counter() - started) * 1000
    return times


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--streaming-events", type=int, default=20_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        lines = synthetic_events(args.events)
        batch, warehouse = batch_rate(lines, workdir)
        streaming = streaming_rate(lines[: args.streaming_events], workdir)
        queries = query_times(warehouse)
    result = {
        "events": args.events,
        "batch_events_per_s": round(batch),
        "streaming_events": args.streaming_events,
        "streaming_events_per_s": round(streaming),
        "query_ms": {k: round(v, 1) for k, v in queries.items()},
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
