"""Events per second through the analytics pipeline into the local BigQuery API (bqemulator, through the
Storage Write API: the sink that ships), batch (FnApiRunner) and streaming (DirectRunner), and each
example query's time through google-cloud-bigquery; the baseline, in the same run: the same transforms
appending to a DuckDB file, the warehouse's former engine (bench/duckdb_baseline.py), and the same
queries and views run by DuckDB itself.

    python -m bench.analytics_throughput [--events 100000] [--streaming-events 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
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


Sink = Callable[[Any], Any]  # a table → the PTransform that writes its rows


def pipeline_rate(lines: list[str], sink: Sink, streaming: bool) -> float:
    """Events per second through the pipeline's transforms into ``sink``, on the local runner."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    from beam_pipelines.analytics.pipeline import LOCAL_RUNNERS
    from beam_pipelines.analytics.transforms import BuildJobRows, DedupeEvents, EventRows, HourlyStats, ParseEvents
    from mixscribe.warehouse import EVENTS, HOURLY, JOBS

    options = PipelineOptions([f"--runner={LOCAL_RUNNERS['streaming' if streaming else 'batch']}"])
    options.view_as(StandardOptions).streaming = streaming
    started = time.perf_counter()
    with beam.Pipeline(options=options) as p:
        parsed = p | beam.Create([line.encode() for line in lines]) | ParseEvents()
        events = parsed.events | DedupeEvents(streaming=streaming)
        events | EventRows() | "Events" >> sink(EVENTS)
        rows = events | BuildJobRows()
        rows | "Jobs" >> sink(JOBS)
        rows | HourlyStats(streaming=False) | "Hourly" >> sink(HOURLY)
    return len(lines) / (time.perf_counter() - started)


def timed(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def _bigquery_sink(dataset: str, table: Any) -> Any:
    from beam_pipelines.analytics.sinks import WriteTable

    return WriteTable(table, dataset)


def _duckdb_sink(path: Path, table: Any) -> Any:
    from bench import duckdb_baseline

    return duckdb_baseline.AppendToDuckDB(table, path)


def measure(lines: list[str], streaming_lines: list[str], workdir: Path) -> dict[str, Any]:
    from beam_pipelines.analytics.report import query_names, query_sql, run_named
    from bench import duckdb_baseline
    from local_emulators.bigquery_emulator import running, warehouse_client

    result: dict[str, Any] = {}
    with running(workdir / "bigquery", "bench") as env:
        os.environ.update(env)
        for mode, events in (("batch", lines), ("streaming", streaming_lines)):
            project = f"bench-{mode}"
            client = warehouse_client(env, project)
            result[f"bigquery_{mode}_events_per_s"] = round(
                pipeline_rate(events, partial(_bigquery_sink, f"{project}:mixscribe"), mode == "streaming")
            )
            if mode == "batch":
                result["bigquery_query_ms"] = {name: round(timed(partial(run_named, client, name)), 1) for name in query_names()}
        for key in env:
            os.environ.pop(key, None)
    for mode, events in (("batch", lines), ("streaming", streaming_lines)):
        path = workdir / f"{mode}.duckdb"
        duckdb_baseline.create(path)
        result[f"duckdb_{mode}_events_per_s"] = round(pipeline_rate(events, partial(_duckdb_sink, path), mode == "streaming"))
        if mode == "batch":
            result["duckdb_query_ms"] = {
                name: round(timed(partial(duckdb_baseline.query, path, query_sql(name))), 1) for name in query_names()
            }
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--streaming-events", type=int, default=20_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        lines = synthetic_events(args.events)
        measured = measure(lines, lines[: args.streaming_events], Path(tmp))
    result = {"events": args.events, "streaming_events": args.streaming_events, **measured}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
