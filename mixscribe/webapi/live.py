"""Following a job as it changes: the job's status, its live progress and the transcript pieces the
model found so far, as a sequence of changes (read from the job document every ``poll_s``).

``follow`` serves ``GET /v1/jobs/{id}/events`` (Server-Sent Events, ``sse``) and the OpenAI-compatible
stream (``transcript.text.delta`` as the model goes). A follower that starts late, or again, gets the
current state first: the job, its progress and every partial segment so far.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..jobs import Job, JobStatus
from ..progress import PartialSegment, partial_segments, public_progress
from ..store import JobStore
from .spec import job_view


@dataclass(frozen=True)
class Change:
    """One thing that changed: ``status`` and ``end`` carry the job, ``progress`` its figures,
    ``segment`` a partial segment under a key unique within the job."""

    kind: str
    job: Job
    segment: PartialSegment | None = None
    key: str = ""

    def data(self) -> dict[str, Any]:
        """The event's JSON data, as the OpenAPI file's event schemas describe it."""
        if self.kind == "progress":
            return public_progress(self.job.progress) or {}
        if self.segment is not None:
            return {"key": self.key, **self.segment.to_dict()}
        return job_view(self.job)


def follow(
    store: JobStore,
    job_id: str,
    poll_s: float,
    max_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Change | None]:
    """The job's changes until it ends (``end``), is deleted (nothing more) or ``max_s`` passes;
    ``None`` after a look that found nothing new (a caller may keep its connection alive then). A job
    not recorded yet (its upload's trigger has not run) is waited for."""
    deadline = clock() + max_s
    status: JobStatus | None = None
    progress_at: Any = None
    seen: set[str] = set()
    while True:
        job = store.get(job_id)
        if job is None:
            if status is not None or clock() >= deadline:
                return  # deleted, or never recorded
            yield None
            sleep(poll_s)
            continue
        changes: list[Change] = []
        if job.status is not status:
            status = job.status
            changes.append(Change("status", job))
        stamp = (job.progress or {}).get("updated_at")
        if stamp is not None and stamp != progress_at:
            progress_at = stamp
            changes.append(Change("progress", job))
        for key, segment in partial_segments(job.progress):
            if key not in seen:
                seen.add(key)
                changes.append(Change("segment", job, segment, key))
        if job.status.terminal:
            yield from changes
            yield Change("end", job)
            return
        if changes:
            yield from changes
        else:
            yield None
        if clock() >= deadline:
            return
        sleep(poll_s)


def sse(event: str, data: dict[str, Any]) -> str:
    """One Server-Sent Event with a JSON payload."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def event_stream(
    changes: Iterator[Change | None], keepalive_s: float, clock: Callable[[], float] = time.monotonic
) -> Iterator[str]:
    """``follow``'s changes as Server-Sent Events, with a comment when nothing was sent for ``keepalive_s``;
    the first event also tells clients to reconnect after 3 s."""
    last, prefix = clock(), "retry: 3000\n"
    for change in changes:
        if change is not None:
            last = clock()
            yield prefix + sse(change.kind, change.data())
            prefix = ""
        elif clock() - last >= keepalive_s:
            last = clock()
            yield ": waiting\n\n"  # keeps proxies from closing an idle stream
