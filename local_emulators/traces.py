"""Reading the local stack's spans back: one job's trace as a tree across every hop.

Every process of the local stack writes its spans as JSON lines under
``<root>/telemetry/traces/`` (``MIXSCRIBE_TRACE_EXPORTER=file``); ``python -m local_emulators
trace JOB_ID`` prints the job's trace from them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_spans(telemetry_dir: Path) -> list[dict[str, Any]]:
    spans = []
    for path in sorted((telemetry_dir / "traces").glob("*.jsonl")):
        spans += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return spans


def trace_of_job(spans: list[dict[str, Any]], job_id: str) -> str | None:
    """The trace id of ``job_id``: the trace of the first span that names the job."""
    named = sorted((s for s in spans if s["attributes"].get("mixscribe.job_id") == job_id), key=lambda s: s["start_ns"])
    return named[0]["trace_id"] if named else None


def render_tree(spans: list[dict[str, Any]], trace_id: str) -> list[str]:
    """``service  name  duration`` lines, children indented under parents, in start order."""
    ours = sorted((s for s in spans if s["trace_id"] == trace_id), key=lambda s: s["start_ns"])
    ids = {s["span_id"] for s in ours}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in ours:
        parent = span["parent_span_id"] if span["parent_span_id"] in ids else None
        children.setdefault(parent, []).append(span)
    if not ours:
        return []
    origin = ours[0]["start_ns"]
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in children.get(parent, []):
            offset_ms = (span["start_ns"] - origin) / 1e6
            lines.append(
                f"{offset_ms:9.1f} ms  {'  ' * depth}{span['name']} [{span['service']}] "
                f"{span['duration_ms']:.1f} ms{'' if span['status'] != 'ERROR' else '  ERROR'}"
            )
            walk(span["span_id"], depth + 1)

    walk(None, 0)
    return lines
