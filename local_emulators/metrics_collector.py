"""Local stand-in for an OpenTelemetry collector: OTLP/gRPC metrics in, Prometheus text out.

Every process of the local stack exports its metrics with delta temporality
(``MIXSCRIBE_METRICS_EXPORTER=otlp``), so this collector only adds: counters and histogram
buckets from short-lived task processes and long-lived functions sum into one series per label
set. ``GET /metrics`` serves them in the Prometheus text format, plus the jobs currently in each
non-terminal status, counted in Firestore (the local view of the queue backlog; in the cloud the
backlog is Pub/Sub's own ``num_undelivered_messages`` metric).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.metrics.v1 import metrics_pb2

from mixscribe.jobs import JobStatus
from mixscribe.logs import fields, setup_logging

log = logging.getLogger("metrics_collector")
DELTA = metrics_pb2.AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
Labels = tuple[tuple[str, str], ...]
WAITING_STATUSES = tuple(status.value for status in JobStatus if not status.terminal)  # the domain's lifecycle


@dataclass
class Family:
    """One metric: its type, help text and a value (or histogram) per label set."""

    kind: str  # counter | gauge | histogram
    help: str
    unit: str
    values: dict[Labels, float] = field(default_factory=dict)
    bounds: tuple[float, ...] = ()
    buckets: dict[Labels, list[int]] = field(default_factory=dict)
    sums: dict[Labels, float] = field(default_factory=dict)
    counts: dict[Labels, int] = field(default_factory=dict)


def _any_value(value: Any) -> str:
    kind = value.WhichOneof("value")
    return str(getattr(value, kind)) if kind else ""


def _labels(attributes: Any, service: str) -> Labels:
    pairs = {kv.key.replace(".", "_"): _any_value(kv.value) for kv in attributes}
    pairs["service"] = service
    return tuple(sorted(pairs.items()))


def prometheus_name(name: str, unit: str, kind: str) -> str:
    base = name.replace(".", "_").replace("-", "_")
    suffix = {"s": "_seconds", "1": "_ratio", "By": "_bytes"}.get(unit, "")
    if suffix and not base.endswith(suffix):
        base += suffix
    return base + ("_total" if kind == "counter" else "")


class MetricsAggregate:
    """Sums delta points by (metric, labels); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.families: dict[str, Family] = {}
        self.refused = 0

    def add(self, request: metrics_service_pb2.ExportMetricsServiceRequest) -> None:
        with self._lock:
            for resource_metrics in request.resource_metrics:
                attrs = {kv.key: _any_value(kv.value) for kv in resource_metrics.resource.attributes}
                service = attrs.get("service.name", "unknown")
                for scope in resource_metrics.scope_metrics:
                    for metric in scope.metrics:
                        self._add_metric(metric, service)

    def _family(self, metric: Any, kind: str) -> Family:
        name = prometheus_name(metric.name, metric.unit, kind)
        family = self.families.get(name)
        if family is None:
            family = self.families[name] = Family(kind, metric.description, metric.unit)
        return family

    def _add_metric(self, metric: Any, service: str) -> None:
        data = metric.WhichOneof("data")
        if data == "sum":
            if metric.sum.aggregation_temporality != DELTA:
                self.refused += 1
                return
            family = self._family(metric, "counter" if metric.sum.is_monotonic else "gauge")
            for point in metric.sum.data_points:
                labels = _labels(point.attributes, service)
                value = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
                family.values[labels] = family.values.get(labels, 0.0) + value
        elif data == "gauge":
            family = self._family(metric, "gauge")
            for point in metric.gauge.data_points:
                value = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
                family.values[_labels(point.attributes, service)] = value
        elif data == "histogram":
            if metric.histogram.aggregation_temporality != DELTA:
                self.refused += 1
                return
            family = self._family(metric, "histogram")
            for point in metric.histogram.data_points:
                labels = _labels(point.attributes, service)
                family.bounds = tuple(point.explicit_bounds)
                counts = family.buckets.setdefault(labels, [0] * (len(point.explicit_bounds) + 1))
                for i, count in enumerate(point.bucket_counts):
                    counts[i] += count
                family.sums[labels] = family.sums.get(labels, 0.0) + point.sum
                family.counts[labels] = family.counts.get(labels, 0) + point.count

    def render(self, extra: dict[Labels, float] | None = None) -> str:
        """The Prometheus text exposition of every family (plus the job-status gauge)."""
        lines: list[str] = []
        with self._lock:
            for name, family in sorted(self.families.items()):
                lines += [f"# HELP {name} {family.help}", f"# TYPE {name} {family.kind}"]
                if family.kind == "histogram":
                    for labels, counts in sorted(family.buckets.items()):
                        running = 0
                        for bound, count in zip(list(family.bounds) + [float("inf")], counts):
                            running += count
                            le = "+Inf" if bound == float("inf") else _number(bound)
                            lines.append(f"{name}_bucket{_render_labels(labels + (('le', le),))} {running}")
                        lines.append(f"{name}_sum{_render_labels(labels)} {_number(family.sums[labels])}")
                        lines.append(f"{name}_count{_render_labels(labels)} {family.counts[labels]}")
                else:
                    for labels, value in sorted(family.values.items()):
                        lines.append(f"{name}{_render_labels(labels)} {_number(value)}")
        if extra is not None:
            name = "mixscribe_jobs_in_status"
            lines += [f"# HELP {name} jobs now in each non-terminal status (Firestore count)", f"# TYPE {name} gauge"]
            lines += [f"{name}{_render_labels(labels)} {_number(value)}" for labels, value in sorted(extra.items())]
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _render_labels(labels: Labels) -> str:
    if not labels:
        return ""
    escaped = (
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34)).replace(chr(10), " ")}"' for k, v in labels
    )
    return "{" + ",".join(escaped) + "}"


class _Receiver(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, aggregate: MetricsAggregate) -> None:
        self.aggregate = aggregate

    def Export(self, request: Any, context: Any) -> Any:
        self.aggregate.add(request)
        return metrics_service_pb2.ExportMetricsServiceResponse()


def firestore_status_counts() -> dict[Labels, float]:
    """Jobs now in each non-terminal status, by a Firestore count aggregation per status."""
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_query import FieldFilter

    client = firestore.Client()
    counts: dict[Labels, float] = {}
    for status in WAITING_STATUSES:
        query: Any = client.collection("jobs").where(filter=FieldFilter("status", "==", status)).count()
        counts[(("status", status),)] = float(query.get()[0][0].value)
    return counts


def serve(grpc_port: int, http_port: int, status_counts: Callable[[], dict[Labels, float]] | None) -> Callable[[], None]:
    """Start both servers; returns a function that stops them."""
    aggregate = MetricsAggregate()
    server = grpc.server(futures.ThreadPoolExecutor(4))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Receiver(aggregate), server)
    server.add_insecure_port(f"127.0.0.1:{grpc_port}")
    server.start()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                body, ctype = b"ok", "text/plain"
            elif self.path == "/metrics":
                extra = None
                if status_counts is not None:
                    try:
                        extra = status_counts()
                    except Exception as exc:  # the exposition still serves what was pushed
                        log.warning("job status counts unavailable", extra=fields(reason=str(exc)))
                body, ctype = aggregate.render(extra).encode(), "text/plain; version=0.0.4; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    http = ThreadingHTTPServer(("127.0.0.1", http_port), Handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()

    def stop() -> None:
        http.shutdown()
        server.stop(1)

    return stop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--no-firestore", action="store_true", help="skip the job-status gauge")
    args = parser.parse_args(argv)
    setup_logging("metrics_collector")
    stop = serve(args.grpc_port, args.http_port, None if args.no_firestore else firestore_status_counts)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    log.info("metrics collector ready", extra=fields(otlp=args.grpc_port, prometheus=args.http_port))
    done.wait()
    stop()


if __name__ == "__main__":
    main()
