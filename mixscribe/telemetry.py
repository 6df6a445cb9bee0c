"""OpenTelemetry traces and metrics, wired once per process from its settings.

One trace follows a job across every hop: the W3C ``traceparent`` rides in Pub/Sub message
attributes, object metadata and the job document (so redeliveries join the job's trace).

``MIXSCRIBE_TRACE_EXPORTER``: ``none`` (default), ``gcp`` (Cloud Trace), ``file`` (one JSON line
per span in ``MIXSCRIBE_TELEMETRY_DIR/traces/<component>-<pid>.jsonl``) or ``console`` (stderr).
``MIXSCRIBE_METRICS_EXPORTER``: ``none`` (default), ``gcp`` (Cloud Monitoring custom metrics) or
``otlp`` (OTLP/gRPC with delta temporality to ``MIXSCRIBE_OTLP_ENDPOINT``: the local stack's
collector, which serves them to Prometheus).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from .config import Settings

TRACEPARENT = "traceparent"
_TRACEPARENT_RE = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
_PROPAGATOR = TraceContextTextMapPropagator()
_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}
_tracer = trace.get_tracer("mixscribe")
_meter = metrics.get_meter("mixscribe")

# Instruments (no-ops until ``setup`` installs a provider). Units follow UCUM.
JOBS = _meter.create_counter("mixscribe.jobs", "{job}", "job state changes, by the status reached")
STAGE_SECONDS = _meter.create_histogram(
    "mixscribe.stage.duration",
    "s",
    "time spent in each stage of a job",
    explicit_bucket_boundaries_advisory=[0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
)
REAL_TIME_FACTOR = _meter.create_histogram(
    "mixscribe.transcribe.real_time_factor",
    "1",
    "model time divided by audio duration",
    explicit_bucket_boundaries_advisory=[0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2],
)
TIME_PER_AUDIO_MINUTE = _meter.create_histogram(
    "mixscribe.transcript.latency_per_audio_minute",
    "s",
    "upload to transcript, per minute of audio",
    explicit_bucket_boundaries_advisory=[1, 2, 5, 10, 15, 30, 60, 120, 300],
)
LLM_TOKENS = _meter.create_counter("mixscribe.llm.tokens", "{token}", "LLM tokens used by the notes step")
NOTES_FALLBACKS = _meter.create_counter("mixscribe.notes.fallbacks", "{job}", "notes written by the embedded fallback")
HALLUCINATIONS = _meter.create_counter(
    "mixscribe.transcription.hallucinations", "{segment}", "segments the hallucination guards flagged or dropped, by kind"
)
DEAD_LETTERS = _meter.create_counter("mixscribe.dead_letters", "{message}", "messages that exhausted their deliveries")
API_SECONDS = _meter.create_histogram(
    "mixscribe.api.request.duration",
    "s",
    "API request latency",
    explicit_bucket_boundaries_advisory=[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
)


def valid_traceparent(value: object) -> bool:
    """A well-formed W3C ``traceparent`` (version 00) with non-zero ids."""
    if not isinstance(value, str) or not _TRACEPARENT_RE.match(value):
        return False
    _, trace_id, span_id, _ = value.split("-")
    return trace_id != "0" * 32 and span_id != "0" * 16


def _context(traceparent: str | None) -> otel_context.Context | None:
    if not valid_traceparent(traceparent):
        return None
    return _PROPAGATOR.extract({TRACEPARENT: traceparent})


@contextmanager
def span(name: str, parent: str | None = None, /, **attributes: Any) -> Iterator[trace.Span]:
    """A span, child of ``parent`` (a traceparent) when given, else of the current span."""
    attrs = {k: v for k, v in attributes.items() if v is not None}
    with _tracer.start_as_current_span(name, context=_context(parent), attributes=attrs) as current:
        yield current


def error_status() -> trace.Status:
    return trace.Status(trace.StatusCode.ERROR)


def current_traceparent() -> str | None:
    """The current span's ``traceparent``, or ``None`` outside a (sampled or not) span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(TRACEPARENT)


def trace_attributes() -> dict[str, str]:
    """Pub/Sub message attributes that carry the current trace (empty outside a span)."""
    value = current_traceparent()
    return {TRACEPARENT: value} if value else {}


def traceparent_from(attributes: Mapping[str, Any] | None) -> str | None:
    value = (attributes or {}).get(TRACEPARENT)
    return value if valid_traceparent(value) else None


def log_fields(project: str) -> dict[str, Any]:
    """Cloud Logging's trace fields for the current span (empty outside one)."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    return {
        "logging.googleapis.com/trace": f"projects/{project}/traces/{ctx.trace_id:032x}",
        "logging.googleapis.com/spanId": f"{ctx.span_id:016x}",
        "logging.googleapis.com/trace_sampled": ctx.trace_flags.sampled,
    }


def _span_line(span_data: Any) -> str:
    ctx = span_data.context
    parent = span_data.parent
    return (
        json.dumps(
            {
                "trace_id": f"{ctx.trace_id:032x}",
                "span_id": f"{ctx.span_id:016x}",
                "parent_span_id": f"{parent.span_id:016x}" if parent else None,
                "name": span_data.name,
                "service": span_data.resource.attributes.get("service.name"),
                "start_ns": span_data.start_time,
                "end_ns": span_data.end_time,
                "duration_ms": round((span_data.end_time - span_data.start_time) / 1e6, 3),
                "status": span_data.status.status_code.name,
                "attributes": dict(span_data.attributes or {}),
            },
            default=str,
        )
        + "\n"
    )


class _LineFile:
    """A text file opened (for appending, line-buffered) at the first span: idle processes leave none."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: Any = None

    def write(self, text: str) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", buffering=1, encoding="utf-8")
        self._file.write(text)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()


def _span_exporter(kind: str, component: str, telemetry_dir: str) -> Any:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    if kind == "gcp":
        from opentelemetry.exporter.cloud_trace import CloudTraceSpanExporter

        return CloudTraceSpanExporter()
    if kind == "file":
        directory = Path(telemetry_dir) / "traces"
        return ConsoleSpanExporter(
            out=cast(IO[str], _LineFile(directory / f"{component}-{os.getpid()}.jsonl")), formatter=_span_line
        )
    if kind == "console":
        import sys

        return ConsoleSpanExporter(out=sys.stderr, formatter=_span_line)
    raise ValueError(f"MIXSCRIBE_TRACE_EXPORTER must be none, gcp, file or console, not {kind!r}")


def _metric_reader(kind: str, endpoint: str, interval_s: float) -> Any:
    from opentelemetry.sdk.metrics import Counter, Histogram, UpDownCounter
    from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader

    if kind == "gcp":
        from opentelemetry.exporter.cloud_monitoring import CloudMonitoringMetricsExporter

        return PeriodicExportingMetricReader(CloudMonitoringMetricsExporter(add_unique_identifier=True), 60_000)
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        delta = AggregationTemporality.DELTA
        exporter = OTLPMetricExporter(
            endpoint=endpoint,
            insecure=True,
            timeout=5,
            preferred_temporality={Counter: delta, Histogram: delta, UpDownCounter: delta},
        )
        return PeriodicExportingMetricReader(exporter, int(interval_s * 1000))
    raise ValueError(f"MIXSCRIBE_METRICS_EXPORTER must be none, gcp or otlp, not {kind!r}")


def setup(component: str, settings: Settings) -> None:
    """Install this process's tracer and meter providers (once; later calls do nothing)."""
    with _LOCK:
        if _STATE:
            return
        _STATE["component"] = component
        traces = settings.trace_exporter
        metric_kind = settings.metrics_exporter
        if traces == "none" and metric_kind == "none":
            return
        from opentelemetry.sdk.resources import Resource

        resource = Resource.create({"service.name": component, "service.namespace": "mixscribe"})
        if traces != "none":
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
            from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

            ratio = settings.trace_sample_ratio
            provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(ratio)))
            exporter = _span_exporter(traces, component, settings.telemetry_dir)
            # Local exporters write at span end: a stopped process loses nothing.
            processor = BatchSpanProcessor(exporter) if traces == "gcp" else SimpleSpanProcessor(exporter)
            provider.add_span_processor(processor)
            trace.set_tracer_provider(provider)
            _STATE["tracer_provider"] = provider
        if metric_kind != "none":
            from opentelemetry.sdk.metrics import MeterProvider

            meter_provider = MeterProvider(
                resource=resource,
                metric_readers=[_metric_reader(metric_kind, settings.otlp_endpoint, settings.metrics_interval_s)],
            )
            metrics.set_meter_provider(meter_provider)
            _STATE["meter_provider"] = meter_provider


def flush(timeout_ms: int = 5000) -> None:
    """Export buffered spans (end of a function invocation: the CPU may be throttled after).

    Metrics keep their period: Cloud Monitoring refuses points closer than 5 s per series, and
    the meter provider exports what is left when the process exits.
    """
    provider = _STATE.get("tracer_provider")
    if provider is not None:
        provider.force_flush(timeout_ms)
