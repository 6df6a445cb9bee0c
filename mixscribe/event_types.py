"""The events' bodies (contract): one dataclass per event type, each with its own schema version.

Producers build these, never dicts; readers (the webhooks function, the analytics pipeline) parse an
event's ``attributes`` back into its type with ``body_of``. A reader tolerates what it does not know:
unknown keys are ignored and missing ones read as ``None``, so an older reader takes a newer event.
Adding an optional field keeps a type's ``VERSION``; renaming, removing or changing one bumps it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from .jobs import JobStatus

B = TypeVar("B", bound="EventBody")


@dataclass(frozen=True)
class EventBody:
    """The typed ``attributes`` of one event type."""

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    STATUS: ClassVar[JobStatus | None] = None  # the status the event reports the job reached, if any

    def attributes(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_attributes(cls: type[B], attributes: dict[str, Any]) -> B:
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{name: attributes.get(name) for name in names})


@dataclass(frozen=True)
class JobQueued(EventBody):
    TYPE = "job.queued"
    STATUS = JobStatus.QUEUED
    owner: str | None = None
    object: str | None = None
    size: int | None = None
    options: dict[str, Any] | None = None
    probe: dict[str, Any] | None = None


@dataclass(frozen=True)
class JobStarted(EventBody):
    TYPE = "job.started"
    STATUS = JobStatus.TRANSCRIBING
    attempt: int | None = None
    worker: str | None = None


@dataclass(frozen=True)
class JobTranscribed(EventBody):
    TYPE = "job.transcribed"
    STATUS = JobStatus.TRANSCRIBED
    duration_s: float | None = None
    language: str | None = None
    word_count: int | None = None
    real_time_factor: float | None = None
    speech_ratio: float | None = None
    loudness_lufs: float | None = None
    clipping_ratio: float | None = None
    outputs: dict[str, str] | None = None
    timings: dict[str, float] | None = None
    cache_hit: bool | None = None  # the transcript of an earlier job of the same owner and bytes was reused
    model: str | None = None  # the model that transcribed (after language routing)
    arm: str | None = None  # "<rollout>:<arm>" (mixscribe.rollouts)
    avg_logprob: float | None = None  # the segments' length-weighted mean log-probability
    hallucination_share: float | None = None  # share of segments flagged or dropped by the guards
    speakers: int | None = None  # speakers in the transcript (diarized, or the mixer's channels)
    speaker_shares: list[float] | None = None  # each speaker's share of the talk time, in the transcript's order


@dataclass(frozen=True)
class JobNotesReady(EventBody):
    TYPE = "job.notes_ready"
    generator: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    usage: dict[str, Any] | None = None
    cost_usd: float | None = None
    cache_hit: bool | None = None
    fallback_reason: str | None = None
    outputs: dict[str, str] | None = None


@dataclass(frozen=True)
class JobCompleted(EventBody):
    TYPE = "job.completed"
    STATUS = JobStatus.DONE
    status: str | None = None


@dataclass(frozen=True)
class JobFailed(EventBody):
    TYPE = "job.failed"
    STATUS = JobStatus.FAILED
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class UploadRejected(EventBody):
    TYPE = "upload.rejected"
    STATUS = JobStatus.FAILED
    code: str | None = None
    message: str | None = None
    object: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class EdgeSegmentUploaded(EventBody):
    TYPE = "edge.segment_uploaded"
    device: str | None = None
    session: str | None = None
    seq: int | None = None
    object: str | None = None
    size: int | None = None
    duration_s: float | None = None
    crc32c: str | None = None
    started_at: str | None = None


@dataclass(frozen=True)
class EdgeHeartbeat(EventBody):
    TYPE = "edge.heartbeat"
    device: str | None = None
    session: str | None = None
    spool_segments: int | None = None
    spool_bytes: int | None = None
    last_upload_at: str | None = None
    live_peaks_dbfs: Any = None  # per channel, as the recorder reports them


BODIES: dict[str, type[EventBody]] = {
    body.TYPE: body
    for body in (
        JobQueued,
        JobStarted,
        JobTranscribed,
        JobNotesReady,
        JobCompleted,
        JobFailed,
        UploadRejected,
        EdgeSegmentUploaded,
        EdgeHeartbeat,
    )
}


def body_of(event_type: str, attributes: dict[str, Any]) -> EventBody:
    """An event's attributes as its type's dataclass; ``KeyError`` for a type nobody declared."""
    return BODIES[event_type].from_attributes(attributes)
