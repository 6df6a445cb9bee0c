"""``run(argv)``: the analytics pipeline, streaming from Pub/Sub or batch from the results bucket.

Rows go to BigQuery (``--bigquery-dataset PROJECT:DATASET``): the cloud's, or the local stack's
emulator when ``BIGQUERY_EMULATOR_HOST`` is set. Messages that are not valid events go to the
``dead_letters`` table (Dataflow's Pub/Sub source takes no dead-letter policy of its own).

Locally the runner is chosen explicitly, because Beam's default may hand a pipeline to the Prism
runner, which downloads a binary at start and hangs offline: streaming runs on the
``BundleBasedDirectRunner``, batch on the ``FnApiRunner``, and ``run`` waits for the end. In the
cloud (``--runner DataflowRunner`` and the usual Dataflow options, as the Flex Template passes them)
``run`` returns once the job is submitted: a streaming job never ends, and a template launcher that
waits for it times out.
"""

from __future__ import annotations

import argparse

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from mixscribe.warehouse import DEAD_LETTERS, EVENTS, HOURLY, JOBS

from .backfill import ReadResultsBucket
from .sinks import WriteTable
from .transforms import BuildJobRows, DedupeEvents, EventRows, HourlyStats, ParseEvents

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
    parser.add_argument("--bigquery-dataset", required=True, help="PROJECT:DATASET in BigQuery (or the local emulator)")
    return parser.parse_known_args(argv)


def build(pipeline: beam.Pipeline, args: argparse.Namespace) -> None:
    dataset = args.bigquery_dataset
    if args.mode == "backfill":
        rows = pipeline | "ReadResults" >> ReadResultsBucket(args.results_bucket)
        rows | "WriteJobs" >> WriteTable(JOBS, dataset)
        return
    if args.mode == "streaming":
        from apache_beam.io.gcp.pubsub import ReadFromPubSub

        # Event time is the event's own occurred_at attribute (RFC 3339), not the publish time.
        payloads = pipeline | "ReadEvents" >> ReadFromPubSub(subscription=args.subscription, timestamp_attribute="occurred_at")
    else:
        payloads = pipeline | "ReadEventsFile" >> beam.io.ReadFromText(args.events_file)
    parsed = payloads | "ParseEvents" >> ParseEvents()
    parsed.dead_letter | "WriteDeadLetters" >> WriteTable(DEAD_LETTERS, dataset)
    events = parsed.events | "DedupeEvents" >> DedupeEvents(streaming=args.mode == "streaming")
    events | "EventRows" >> EventRows() | "WriteEvents" >> WriteTable(EVENTS, dataset)
    job_rows = events | "BuildJobRows" >> BuildJobRows()
    job_rows | "WriteJobs" >> WriteTable(JOBS, dataset)
    job_rows | "HourlyStats" >> HourlyStats(streaming=args.mode == "streaming") | "WriteHourly" >> WriteTable(HOURLY, dataset)


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
    if waits_for_the_end(options):
        result.wait_until_finish()
    return result


def waits_for_the_end(options: PipelineOptions) -> bool:
    """Only a local run waits: on Dataflow ``run`` returns once the job is submitted (a streaming job never
    ends, and the Flex Template's launcher would time out waiting for it)."""
    return options.view_as(StandardOptions).runner in LOCAL_RUNNERS.values()
