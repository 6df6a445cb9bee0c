"""The pipeline's stages, one composite PTransform each, every step labelled (stable for updates)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics
from apache_beam.transforms import trigger, window
from apache_beam.transforms.deduplicate import DeduplicatePerKey
from apache_beam.utils.timestamp import Duration

from .records import InvalidEvent, JobFold, event_row, parse_event

DEAD_LETTER = "dead_letter"
HOUR_S = 3600
ALLOWED_LATENESS_S = 2 * 86400
EARLY_FIRING_S = 30


class _Parse(beam.DoFn):
    def __init__(self) -> None:
        self.bad = Metrics.counter("analytics", "invalid_events")
        self.good = Metrics.counter("analytics", "events")

    def process(self, payload: Any) -> Iterable[Any]:
        try:
            event = parse_event(payload)
        except InvalidEvent as exc:
            self.bad.inc()
            raw = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
            yield pvalue.TaggedOutput(DEAD_LETTER, {"received_at": datetime.now(UTC), "error": str(exc), "payload": raw[:10_000]})
            return
        self.good.inc()
        yield window.TimestampedValue(event, event["occurred_at"].timestamp())


class ParseEvents(beam.PTransform):
    """Bytes → validated events timestamped at ``occurred_at``; the rest to ``dead_letter``."""

    def expand(self, payloads):
        return payloads | "Parse" >> beam.ParDo(_Parse()).with_outputs(DEAD_LETTER, main="events")


def _any_copy(copies: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Copies of one event_id are the same event: keep any one."""
    return next(iter(copies))


class DedupeEvents(beam.PTransform):
    """One copy of each ``event_id`` (redeliveries and retried steps re-send the same id).

    Streaming: a stateful per-key deduplication that remembers ids for ``memory_s``. Batch: a
    combine per id, which needs no per-key state (Beam's state cache sizing dominated the batch
    run's time when it used the stateful form: 70 % of it, measured with cProfile).
    """

    def __init__(self, streaming: bool = True, memory_s: int = 3600) -> None:
        super().__init__()
        self.streaming = streaming
        self.memory_s = memory_s

    def expand(self, events):
        keyed = events | "KeyByEventId" >> beam.Map(lambda e: (e["event_id"], e)).with_output_types(tuple[str, Any])
        if self.streaming:
            deduped = keyed | "Deduplicate" >> DeduplicatePerKey(processing_time_duration=Duration(seconds=self.memory_s))
        else:
            deduped = keyed | "OnePerId" >> beam.CombinePerKey(_any_copy)
        return deduped | "DropKey" >> beam.Values()


class _FoldJob(beam.CombineFn):
    def create_accumulator(self) -> JobFold:
        return JobFold()

    def add_input(self, fold: JobFold, event: dict[str, Any]) -> JobFold:
        return fold.add(event)

    def merge_accumulators(self, folds: Iterable[JobFold]) -> JobFold:
        merged = JobFold()
        for fold in folds:
            merged = merged.merge(fold)
        return merged

    def extract_output(self, fold: JobFold) -> dict[str, Any]:
        return fold.row()


class BuildJobRows(beam.PTransform):
    """Events → the latest ``jobs`` row of each job, re-emitted on every event (accumulating)."""

    def expand(self, events):
        return (
            events
            | "JobEventsOnly" >> beam.Filter(lambda e: not e["type"].startswith("edge."))  # devices are not jobs
            | "KeyByJob" >> beam.Map(lambda e: (e["job_id"], e)).with_output_types(tuple[str, Any])
            | "PerJobPanes"
            >> beam.WindowInto(
                window.GlobalWindows(),
                trigger=trigger.Repeatedly(trigger.AfterCount(1)),
                accumulation_mode=trigger.AccumulationMode.ACCUMULATING,
                timestamp_combiner=window.TimestampCombiner.OUTPUT_AT_LATEST,
            )
            | "FoldJob" >> beam.CombinePerKey(_FoldJob())
            | "DropKey" >> beam.Values()
        )


def dimensions(row: dict[str, Any]) -> list[tuple[str, str]]:
    """The (dimension, key) pairs a job counts under: its owner, and its device for edge uploads."""
    owner = row.get("owner") or "anonymous"
    keys = [("owner", owner)]
    if owner.startswith("edge:"):
        keys.append(("device", owner.split(":", 1)[1]))
    return keys


def hourly_stats(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Aggregates of finished jobs (one row per job: the latest seen wins)."""
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        current = latest.get(row["job_id"])
        if current is None or (row.get("updated_at") or datetime.min.replace(tzinfo=UTC)) >= (
            current.get("updated_at") or datetime.min.replace(tzinfo=UTC)
        ):
            latest[row["job_id"]] = row
    jobs = list(latest.values())
    failed = sum(1 for r in jobs if r["status"] == "failed")
    latencies = sorted(r["total_s"] for r in jobs if r.get("total_s") is not None)

    def mean(key: str) -> float | None:
        values = [r[key] for r in jobs if r.get(key) is not None]
        return round(statistics.fmean(values), 4) if values else None

    def pct(p: float) -> float | None:
        if not latencies:
            return None
        return latencies[max(0, math.ceil(p * len(latencies)) - 1)]  # nearest rank

    return {
        "jobs": len(jobs),
        "failed": failed,
        "failure_rate": round(failed / len(jobs), 4) if jobs else None,
        "audio_hours": round(sum(r.get("audio_duration_s") or 0 for r in jobs) / 3600, 6),
        "latency_p50_s": pct(0.5),
        "latency_p95_s": pct(0.95),
        "real_time_factor_mean": mean("real_time_factor"),
        "loudness_mean_lufs": mean("loudness_lufs"),
        "clipping_mean": mean("clipping_ratio"),
    }


class _HourlyStats(beam.CombineFn):
    def create_accumulator(self) -> list:
        return []

    def add_input(self, acc: list, row: dict[str, Any]) -> list:
        acc.append(row)
        return acc

    def merge_accumulators(self, accs: Iterable[list]) -> list:
        return [row for acc in accs for row in acc]

    def extract_output(self, acc: list) -> dict[str, Any]:
        return hourly_stats(acc)


class _WithWindow(beam.DoFn):
    def process(self, item, win=beam.DoFn.WindowParam):
        (dimension, key), stats = item
        yield {
            "window_start": win.start.to_utc_datetime().replace(tzinfo=UTC),
            "window_end": win.end.to_utc_datetime().replace(tzinfo=UTC),
            "dimension": dimension,
            "key": key,
            **stats,
            "updated_at": datetime.now(UTC),
        }


class HourlyStats(beam.PTransform):
    """Finished jobs → per-hour stats per owner and device, by event time (``completed_at``).

    Early panes every 30 s of processing time keep a dashboard fresh (streaming only: a batch run
    has no processing-time clock); the on-time pane fires at the watermark; late jobs (up to two
    days) update their hour again. Panes accumulate, and the sink upserts by (hour, dimension,
    key), so the latest pane is the truth.
    """

    def __init__(self, streaming: bool = True) -> None:
        super().__init__()
        self.streaming = streaming

    def expand(self, job_rows):
        early = trigger.AfterProcessingTime(EARLY_FIRING_S) if self.streaming else None
        return (
            job_rows
            | "Finished" >> beam.Filter(lambda r: r["status"] in ("done", "failed") and r.get("completed_at"))
            | "AtCompletion" >> beam.Map(lambda r: window.TimestampedValue(r, r["completed_at"].timestamp()))
            | "ByDimension" >> beam.FlatMap(lambda r: [(dim, r) for dim in dimensions(r)])
            | "Hourly"
            >> beam.WindowInto(
                window.FixedWindows(HOUR_S),
                trigger=trigger.AfterWatermark(early=early, late=trigger.AfterCount(1)),
                accumulation_mode=trigger.AccumulationMode.ACCUMULATING,
                allowed_lateness=Duration(seconds=ALLOWED_LATENESS_S),
            )
            | "Stats" >> beam.CombinePerKey(_HourlyStats())
            | "WithWindow" >> beam.ParDo(_WithWindow())
        )


class EventRows(beam.PTransform):
    def expand(self, events):
        return events | "EventRow" >> beam.Map(lambda e: event_row(e, datetime.now(UTC)))
