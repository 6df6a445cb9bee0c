"""``run(argv)``: the analytics pipeline, streaming from Pub/Sub or batch from the results bucket.

Locally the runner is chosen explicitly, because Beam's default may hand a pipeline to the Prism
runner, which downloads a binary at start and hangs offline: streaming runs on the
``BundleBasedDirectRunner``, batch on the ``FnApiRunner``. In the cloud pass ``--runner
DataflowRunner`` and the usual Dataflow options; ``--bigquery-dataset`` replaces ``--warehouse``.
"""

from __future__ import annotations

import argparse
import logging

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from mixscribe.warehouse import EVENTS, HOURLY, JOBS

from .backfill import ReadResultsBucket
from .sinks import WriteTable
from .transforms import BuildJobRows, DedupeEvents, EventRows, HourlyStats, ParseEvents

log = logging.getLogger(__name__)
LOCAL_RUNNERS = {
    "streaming": "apache_beam.runners.direct.direct_runner.BundleBasedDirectRunner",
    "batch": "apache_beam.runners.portability.fn_api_runner.FnApiRunner",
}


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="python -m beam_pipelines.analytics", description=__doc__)
    parser.add_argument("mode", choices=("streaming", "backfill", "events-file"))
    parser.add_argument("--subscription", help="streaming: projects/P/subscriptions/S of mixscribe-events")
    parser.add_argument("--results-bucket", help="backfill: the results bucket to rebuild the jobs table from")
    parser.add_argument("--events-file", help="events-file: newline-delimited event JSON (tests, benchmarks)")
    sink = parser.add_mutually_exclusive_group(required=True)
    sink.add_argument("--warehouse", help="local DuckDB file")
    sink.add_argument("--bigquery-dataset", help="PROJECT:DATASET in BigQuery")
    return parser.parse_known_args(argv)


def build(pipeline: beam.Pipeline, args: argparse.Namespace) -> None:
    sinks = {"warehouse_path": args.warehouse, "dataset": args.bigquery_dataset}
    if args.mode == "backfill":
        rows = pipeline | "ReadResults" >> ReadResultsBucket(args.results_bucket)
        rows | "WriteJobs" >> WriteTable(JOBS, **sinks)
        return
    if args.mode == "streaming":
        from apache_beam.io.gcp.pubsub import ReadFromPubSub

        # Event time is the event's own occurred_at attribute (RFC 3339), not the publish time.
        payloads = pipeline | "ReadEvents" >> ReadFromPubSub(subscription=args.subscription, timestamp_attribute="occurred_at")
    else:
        payloads = pipeline | "ReadEventsFile" >> beam.io.ReadFromText(args.events_file)
    parsed = payloads | "ParseEvents" >> ParseEvents()
    parsed.dead_letter | "LogDeadLetters" >> beam.Map(lambda bad: log.warning("invalid event: %s", bad["error"]))
    events = parsed.events | "DedupeEvents" >> DedupeEvents(streaming=args.mode == "streaming")
    events | "EventRows" >> EventRows() | "WriteEvents" >> WriteTable(EVENTS, **sinks)
    job_rows = events | "BuildJobRows" >> BuildJobRows()
    job_rows | "WriteJobs" >> WriteTable(JOBS, **sinks)
    job_rows | "HourlyStats" >> HourlyStats(streaming=args.mode == "streaming") | "WriteHourly" >> WriteTable(HOURLY, **sinks)


def run(argv: list[str] | None = None) -> beam.runners.runner.PipelineResult:
    args, beam_args = parse_args(argv)
    options = PipelineOptions(beam_args, save_main_session=False)
    streaming = args.mode == "streaming"
    options.view_as(StandardOptions).streaming = streaming
    if not options.view_as(StandardOptions).runner:
        options.view_as(StandardOptions).runner = LOCAL_RUNNERS["streaming" if streaming else "batch"]
    pipeline = beam.Pipeline(options=options)
    build(pipeline, args)
    result = pipeline.run()
    result.wait_until_finish()
    return result
