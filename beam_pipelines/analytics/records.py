"""Plain functions over event and job records, shared by the transforms (no Beam imports here).

``parse_event`` validates one message against the event schema. ``JobFold`` folds a job's events
into its ``jobs`` row; folding is order-independent and idempotent (min/max/latest-by-time), so
late and duplicate events cannot corrupt a row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mixscribe.event_types import (
    BODIES,
    JobFailed,
    JobNotesReady,
    JobQueued,
    JobStarted,
    JobTranscribed,
    UploadRejected,
    body_of,
)
from mixscribe.events import EVENT_TYPES
from mixscribe.jobs import JobStatus, status_rank

# the domain's lifecycle and the events' own declarations, not copies
STATUS_RANK = {status.value: status_rank(status) for status in JobStatus}
_STATUS_OF = {kind: body.STATUS.value for kind, body in BODIES.items() if body.STATUS is not None}
TERMINAL_TYPES = {kind for kind, body in BODIES.items() if body.STATUS is not None and body.STATUS.terminal}


class InvalidEvent(ValueError):
    """A message that is not a valid lifecycle event (it goes to the dead-letter output)."""


def parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidEvent("occurred_at must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidEvent(f"occurred_at is not ISO 8601: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_event(payload: bytes | str | dict) -> dict[str, Any]:
    """A validated event dict with ``occurred_at`` as a datetime; ``InvalidEvent`` otherwise."""
    try:
        data = payload if isinstance(payload, dict) else json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidEvent("an event is a JSON object")
    for key in ("event_id", "type", "job_id", "source"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise InvalidEvent(f"{key} must be a non-empty string")
    if data["type"] not in EVENT_TYPES:
        raise InvalidEvent(f"unknown event type {data['type']!r}")
    if not isinstance(data.get("schema_version"), int):
        raise InvalidEvent("schema_version must be an integer")
    attributes = data.get("attributes", {})
    if not isinstance(attributes, dict):
        raise InvalidEvent("attributes must be an object")
    return {**data, "occurred_at": parse_time(data.get("occurred_at")), "attributes": attributes}


def event_row(event: dict[str, Any], ingested_at: datetime) -> dict[str, Any]:
    """The ``events`` table row of a parsed event."""
    return {
        "event_id": event["event_id"],
        "type": event["type"],
        "job_id": event["job_id"],
        "occurred_at": event["occurred_at"],
        "source": event["source"],
        "schema_version": event["schema_version"],
        "attributes": json.dumps(event["attributes"], sort_keys=True),
        "ingested_at": ingested_at,
    }


def _min(a: datetime | None, b: datetime) -> datetime:
    return b if a is None else min(a, b)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 3) if start and end else None


@dataclass
class JobFold:
    """What the events of one job say about it, merged in any order."""

    job_id: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    times: dict[str, datetime] = field(default_factory=dict)
    status: str = "queued"
    status_at: datetime | None = None  # when the event that set ``status`` occurred
    updated_at: datetime | None = None
    attempts: int = 0

    def add(self, event: dict[str, Any]) -> JobFold:
        self.job_id = event["job_id"]
        at, attrs, kind = event["occurred_at"], event["attributes"], event["type"]
        self.updated_at = max(self.updated_at or at, at)
        stamp = {
            "job.queued": "created_at",
            "upload.rejected": "created_at",
            "job.started": "started_at",
            "job.transcribed": "transcribed_at",
        }.get(kind)
        if stamp:
            self.times[stamp] = _min(self.times.get(stamp), at)
        if kind in TERMINAL_TYPES:
            self.times["completed_at"] = _min(self.times.get("completed_at"), at)
        if kind in _STATUS_OF:
            self.status, self.status_at = _later_status((self.status, self.status_at), (_STATUS_OF[kind], at))
        body = body_of(kind, attrs)
        self.fields.update(_fields_of(body))
        if isinstance(body, JobStarted):
            self.attempts = max(self.attempts, int(body.attempt or 1))
        return self

    def merge(self, other: JobFold) -> JobFold:
        merged = JobFold(self.job_id or other.job_id)
        for fold in (self, other):
            for key, at in fold.times.items():
                merged.times[key] = _min(merged.times.get(key), at)
            merged.fields.update({k: v for k, v in fold.fields.items() if v is not None})
            merged.attempts = max(merged.attempts, fold.attempts)
            merged.updated_at = max(filter(None, (merged.updated_at, fold.updated_at)), default=None)
            merged.status, merged.status_at = _later_status((merged.status, merged.status_at), (fold.status, fold.status_at))
        return merged

    @property
    def finished(self) -> bool:
        return JobStatus(self.status).terminal

    def row(self) -> dict[str, Any]:
        t = self.times
        created = t.get("created_at") or t.get("started_at") or self.updated_at
        return {
            "job_id": self.job_id,
            "status": self.status,
            "created_at": created,
            "started_at": t.get("started_at"),
            "transcribed_at": t.get("transcribed_at"),
            "completed_at": t.get("completed_at"),
            "queue_s": _seconds(created, t.get("started_at")),
            "transcribe_s": _seconds(t.get("started_at"), t.get("transcribed_at")),
            "notes_s": _seconds(t.get("transcribed_at"), t.get("completed_at")),
            "total_s": _seconds(created, t.get("completed_at")),
            "attempts": self.attempts,
            "updated_at": self.updated_at,
            **{name: self.fields.get(name) for name in JOB_FIELDS},
            "model": self.fields.get("transcribed_model") or self.fields.get("model"),
        }


JOB_FIELDS = (
    "owner",
    "error_code",
    "model",
    "language",
    "priority",
    "audio_duration_s",
    "speech_ratio",
    "loudness_lufs",
    "real_time_factor",
    "word_count",
    "notes_generator",
    "llm_prompt_tokens",
    "llm_completion_tokens",
    "llm_cost_usd",
    "clipping_ratio",
    "arm",
    "cache_hit",
    "avg_logprob",
    "hallucination_share",
    "speaker_count",
    "top_speaker_share",
)


def _later_status(current: tuple[str, datetime | None], new: tuple[str, datetime | None]) -> tuple[str, datetime | None]:
    """The status the job is in after both: the later stage; of two terminal states the one reached
    first (terminal states never change), so the fold does not depend on the order events arrive."""
    (status, at), (other, other_at) = current, new
    if STATUS_RANK[other] != STATUS_RANK[status]:
        return new if STATUS_RANK[other] > STATUS_RANK[status] else current
    if other == status:
        return status, _earliest(at, other_at)
    return min(current, new, key=lambda s: (s[1] is None, s[1] or datetime.min.replace(tzinfo=UTC), s[0]))


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _fields_of(body: object) -> dict[str, Any]:
    """The ``jobs`` columns an event's typed body fills."""
    match body:
        case JobQueued(owner=owner, options=options):
            options = options or {}
            language = options.get("language")
            return {
                "owner": owner,
                "model": options.get("model"),
                "priority": options.get("priority"),
                "language": language if language != "auto" else None,
                "arm": options.get("arm") or None,
            }
        case UploadRejected(owner=owner, code=code):
            return {"owner": owner, "error_code": code}
        case JobFailed(code=code):
            return {"error_code": code}
        case JobTranscribed():
            return {
                "audio_duration_s": body.duration_s,
                "language": body.language,
                "word_count": body.word_count,
                "real_time_factor": body.real_time_factor,
                "speech_ratio": body.speech_ratio,
                "loudness_lufs": body.loudness_lufs,
                "clipping_ratio": body.clipping_ratio,
                "cache_hit": body.cache_hit,
                "avg_logprob": body.avg_logprob,
                "hallucination_share": body.hallucination_share,
                "speaker_count": body.speakers,
                "top_speaker_share": max(body.speaker_shares) if body.speaker_shares else None,
                "transcribed_model": body.model,  # after language routing; wins over the queued model
            }
        case JobNotesReady():
            usage = body.usage or {}
            return {
                "notes_generator": body.generator,
                "llm_prompt_tokens": usage.get("prompt_tokens"),
                "llm_completion_tokens": usage.get("completion_tokens"),
                "llm_cost_usd": body.cost_usd,
            }
    return {}
