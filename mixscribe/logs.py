"""Structured JSON logging in the shape Cloud Logging understands.

Each record is one JSON line with ``severity``, ``message`` and, when known, ``job_id`` and
``logging.googleapis.com/trace`` (with ``spanId``) of the current OpenTelemetry span. Extra fields ride in
``extra={"json_fields": {...}}``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from . import telemetry
from .config import Settings

TRACE_KEY = "logging.googleapis.com/trace"
_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}


class JsonFormatter(logging.Formatter):
    """Formats a record as one Cloud Logging JSON line."""

    def __init__(self, component: str, project: str = "") -> None:
        super().__init__()
        self.component = component
        self.project = project

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "component": self.component,
            "logger": record.name,
        }
        entry.update(telemetry.log_fields(self.project))
        fields = getattr(record, "json_fields", None) or {}
        for key, value in fields.items():
            entry[TRACE_KEY if key == "trace" else key] = value
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(component: str, level: str | None = None, settings: Settings | None = None) -> None:
    """Route every logger to one JSON line per record on stderr, and set up telemetry (idempotent).

    Invalid settings raise after logging is set up with the defaults, so the error itself is logged
    as one JSON line by whoever catches it.
    """
    try:
        settings = settings or Settings.from_env()
    except ValueError:
        _route(component, Settings(), level)
        raise
    telemetry.setup(component, settings)
    _route(component, settings, level)


def _route(component: str, settings: Settings, level: str | None) -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(component, settings.project))
    root.handlers[:] = [handler]
    root.setLevel(level or settings.log_level)
    for noisy in ("urllib3", "google", "grpc", "faster_whisper", "werkzeug", "apache_beam"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def fields(**values: Any) -> dict[str, Any]:
    """Shorthand for ``extra=`` carrying structured fields (``None`` values dropped)."""
    return {"json_fields": {k: v for k, v in values.items() if v is not None}}
