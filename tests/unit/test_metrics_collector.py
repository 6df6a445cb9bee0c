"""The local metrics collector: OTLP/gRPC deltas from several processes sum into Prometheus text."""

from __future__ import annotations

import socket

import requests
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from local_emulators.metrics_collector import prometheus_name, serve


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def provider(endpoint: str, service: str) -> MeterProvider:
    delta = AggregationTemporality.DELTA
    exporter = OTLPMetricExporter(endpoint=endpoint, insecure=True, preferred_temporality={Counter: delta, Histogram: delta})
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    return MeterProvider(resource=Resource.create({"service.name": service}), metric_readers=[reader])


def test_deltas_from_two_processes_sum_and_render_as_prometheus():
    grpc_port, http_port = free_port(), free_port()
    stop = serve(grpc_port, http_port, lambda: {(("status", "queued"),): 3.0})
    try:
        for service, jobs, seconds in (("transcribe", 2, [0.2, 3.0]), ("transcribe", 1, [40.0])):  # two task processes
            meters = provider(f"127.0.0.1:{grpc_port}", service)
            meter = meters.get_meter("test")
            meter.create_counter("mixscribe.jobs", "{job}").add(jobs, {"status": "done"})
            histogram = meter.create_histogram("mixscribe.stage.duration", "s", explicit_bucket_boundaries_advisory=[1, 10])
            for value in seconds:
                histogram.record(value, {"stage": "transcribe"})
            meters.shutdown()  # exports what is left, as a task does at exit
        text = requests.get(f"http://127.0.0.1:{http_port}/metrics", timeout=10).text
    finally:
        stop()
    lines = set(text.splitlines())
    assert "# TYPE mixscribe_jobs_total counter" in lines
    assert 'mixscribe_jobs_total{service="transcribe",status="done"} 3' in lines
    labels = 'service="transcribe",stage="transcribe"'
    assert f'mixscribe_stage_duration_seconds_bucket{{{labels},le="1"}} 1' in lines
    assert f'mixscribe_stage_duration_seconds_bucket{{{labels},le="10"}} 2' in lines
    assert f'mixscribe_stage_duration_seconds_bucket{{{labels},le="+Inf"}} 3' in lines
    assert f"mixscribe_stage_duration_seconds_count{{{labels}}} 3" in lines
    assert f"mixscribe_stage_duration_seconds_sum{{{labels}}} 43.2" in lines
    assert 'mixscribe_jobs_in_status{status="queued"} 3' in lines


def test_prometheus_names_carry_unit_and_counter_suffixes():
    assert prometheus_name("mixscribe.api.request.duration", "s", "histogram") == "mixscribe_api_request_duration_seconds"
    assert (
        prometheus_name("mixscribe.transcribe.real_time_factor", "1", "histogram")
        == "mixscribe_transcribe_real_time_factor_ratio"
    )
    assert prometheus_name("mixscribe.llm.tokens", "{token}", "counter") == "mixscribe_llm_tokens_total"
