"""W3C trace context: parsing, continuing a trace, and the Cloud Logging fields inside a span."""

from __future__ import annotations

import json
import logging

from mixscribe import telemetry
from mixscribe.logs import JsonFormatter, fields

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_only_well_formed_traceparents_are_accepted():
    assert telemetry.valid_traceparent(PARENT)
    for bad in (
        "",
        "garbage",
        PARENT.upper(),
        "01" + PARENT[2:],
        PARENT.replace("4bf92f3577b34da6a3ce929d0e0e4736", "0" * 32),
        PARENT + "-extra",
        None,
        42,
    ):
        assert not telemetry.valid_traceparent(bad), bad
    assert telemetry.traceparent_from({"traceparent": "nonsense"}) is None
    assert telemetry.traceparent_from({"traceparent": PARENT}) == PARENT


def test_a_span_continues_its_parent_trace_and_logs_carry_it():
    formatter = JsonFormatter("test")
    formatter.project = "p"
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "inside", None, None)
    record.json_fields = fields(job_id="j1")["json_fields"]
    assert telemetry.current_traceparent() is None and telemetry.trace_attributes() == {}
    with telemetry.span("work", PARENT, **{"mixscribe.job_id": "j1"}):
        assert telemetry.current_traceparent().split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert telemetry.trace_attributes()["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
        entry = json.loads(formatter.format(record))
    assert entry["logging.googleapis.com/trace"] == "projects/p/traces/4bf92f3577b34da6a3ce929d0e0e4736"
    assert entry["job_id"] == "j1" and entry["severity"] == "INFO" and entry["message"] == "inside"
    outside = json.loads(formatter.format(record))
    assert "logging.googleapis.com/trace" not in outside


def test_a_malformed_parent_starts_a_fresh_context_instead_of_failing():
    with telemetry.span("work", "00-not-a-trace"):
        assert telemetry.current_traceparent() is None  # no provider in unit tests: nothing recorded, nothing invented
