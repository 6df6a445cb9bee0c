"""The job model: deterministic ids, statuses and the transitions that may never go backwards."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from .glossary import GlossaryTerm


class JobStatus(str, Enum):
    """Lifecycle of a job (contract): queued → transcribing → transcribed → summarizing → done."""

    QUEUED = "queued"
    TRANSCRIBING = "transcribing"
    TRANSCRIBED = "transcribed"
    SUMMARIZING = "summarizing"
    DONE = "done"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED)


_RANK = {
    JobStatus.QUEUED: 0,
    JobStatus.TRANSCRIBING: 1,
    JobStatus.TRANSCRIBED: 2,
    JobStatus.SUMMARIZING: 3,
    JobStatus.DONE: 4,
}


def status_rank(status: JobStatus) -> int:
    """A status's place in the lifecycle; both terminal states rank last (a job reaches one, once)."""
    return _RANK[JobStatus.DONE] if status is JobStatus.FAILED else _RANK[status]


def can_transition(current: JobStatus, new: JobStatus) -> bool:
    """True when ``current → new`` moves a job forward.

    Terminal states never change; ``failed`` is reachable from any other state; otherwise the
    new state must rank strictly after the current one (stages may be skipped, e.g. notes off).
    """
    if current.terminal:
        return False
    if new is JobStatus.FAILED:
        return True
    return _RANK[new] > _RANK[current]


# Objects the API names for signed uploads and imports: written once (their signed URL carries
# ``x-goog-if-generation-match: 0``), so their job id leaves out the generation and the API can
# return it before the upload happens.
WRITE_ONCE_NAME = re.compile(r"^users/[A-Za-z0-9_-]{1,128}/uploads/[0-9a-f]{32}/[^/]+$")


def job_id_for(bucket: str, name: str, generation: int | str) -> str:
    """Deterministic job id for one object generation: a redelivered event maps to the same job."""
    key = f"gs://{bucket}/{name}" if WRITE_ONCE_NAME.match(name) else f"gs://{bucket}/{name}#{generation}"
    return f"j{hashlib.sha256(key.encode()).hexdigest()[:31]}"


ANONYMOUS = "anonymous"  # an upload outside users/ and edge/: whose it is, nobody knows


def owner_for(object_name: str) -> str:
    """Owner of an upload from its prefix: ``users/{uid}/…`` or ``edge/{device}/…``."""
    parts = object_name.split("/")
    if len(parts) >= 3 and parts[0] == "users" and parts[1]:
        return parts[1]
    if len(parts) >= 3 and parts[0] == "edge" and parts[1]:
        return f"edge:{parts[1]}"
    return ANONYMOUS


METRICS_SUMMARY_KEYS = ("duration_s", "language", "word_count", "real_time_factor", "speech_ratio")  # job.metrics


@dataclass(frozen=True)
class SourceObject:
    """The uploaded object a job transcribes (one generation of it)."""

    bucket: str
    name: str
    generation: int
    size: int
    content_type: str
    md5: str = ""
    crc32c: str = ""

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.name}"


@dataclass(frozen=True)
class JobOptions:
    """Options that produced a result (validated from upload metadata)."""

    model: str
    language: str = "auto"
    priority: str = "normal"
    notes: bool = True
    channels: tuple[str, ...] = ()
    webhook: str = ""  # callback URL; may carry a token, so only its host leaves Firestore
    arm: str = ""  # "<rollout>:<treatment|control>" when a rollout placed the job (mixscribe.rollouts)
    diarize: bool = False  # speaker diarization (mixscribe.diarization); per channel when channels are named
    speakers: int = 0  # the expected number of speakers when diarizing (0: estimated within the bounds)
    min_speakers: int = 0  # bounds of the estimate (0: 1 and 10)
    max_speakers: int = 0
    redact: tuple[str, ...] = ()  # entity types to redact (mixscribe.redaction.entities); () = off
    redact_audio: bool = False  # also write audio.redacted.<ext>, the findings silenced
    keep_original: bool = False  # keep the unredacted transcript (stored apart) when redacting
    prompt: str = ""  # Whisper's initial prompt: names, spellings, style for the first window
    hotwords: str = ""  # terms faster-whisper keeps in the prompt of every window
    task: str = "transcribe"  # or "translate": English text from speech in any language (multilingual models)
    temperature: float = 0.0  # the first decoding temperature; fallbacks climb from it in steps of 0.2 to 1.0
    glossary: tuple[GlossaryTerm, ...] = ()  # the owner's glossary when the job was made (mixscribe.glossary)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["channels"] = list(self.channels)
        data["redact"] = list(self.redact)
        data["glossary"] = [term.to_dict() for term in self.glossary]
        return data

    def public_dict(self) -> dict[str, Any]:
        """The options as events and result files show them (webhook reduced to its host)."""
        data = self.to_dict()
        data["webhook"] = urlsplit(self.webhook).hostname or "" if self.webhook else ""
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobOptions:
        return cls(
            model=str(data["model"]),
            language=str(data.get("language", "auto")),
            priority=str(data.get("priority", "normal")),
            notes=bool(data.get("notes", True)),
            channels=tuple(data.get("channels") or ()),
            webhook=str(data.get("webhook") or ""),
            arm=str(data.get("arm") or ""),
            diarize=bool(data.get("diarize", False)),
            speakers=int(data.get("speakers") or 0),
            min_speakers=int(data.get("min_speakers") or 0),
            max_speakers=int(data.get("max_speakers") or 0),
            redact=tuple(data.get("redact") or ()),
            redact_audio=bool(data.get("redact_audio", False)),
            keep_original=bool(data.get("keep_original", False)),
            prompt=str(data.get("prompt") or ""),
            hotwords=str(data.get("hotwords") or ""),
            task=str(data.get("task") or "transcribe"),
            temperature=float(data.get("temperature") or 0.0),
            glossary=tuple(GlossaryTerm.from_dict(t) for t in data.get("glossary") or ()),
        )


def routing_record(options: JobOptions, job: str | None, requested_model: str | None = None) -> dict[str, Any]:
    """``routing`` on a job: the Cloud Run job that ran it (None: none did, e.g. a cache hit), the model
    (``requested_model``: the one asked for, when language routing moved the job), priority and arm."""
    routing: dict[str, Any] = {"job": job, "model": options.model, "priority": options.priority}
    if requested_model:
        routing["requested_model"] = requested_model
    if options.arm:
        routing["arm"] = options.arm
    return routing


@dataclass
class Job:
    """A Firestore ``jobs/{job_id}`` document (contract: see ARCHITECTURE.md)."""

    job_id: str
    owner: str
    source: SourceObject
    options: JobOptions | None
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    attempts: int = 0
    outputs: dict[str, str] = field(default_factory=dict)
    error: dict[str, str] | None = None
    probe: dict[str, Any] | None = None
    published_at: datetime | None = None
    webhook: dict[str, Any] | None = None  # delivery record of the options' webhook
    metrics: dict[str, Any] | None = None  # summary written when transcribed
    notes: dict[str, Any] | None = None  # summary written when the notes are ready
    trace: str | None = None  # W3C traceparent of the upload's span: every later hop joins this trace
    routing: dict[str, Any] | None = None  # {job, model, priority}: where its transcription ran (set at each claim)
    cache_hit: dict[str, Any] | None = None  # {job_id}: the earlier job whose transcript it reuses
    progress: dict[str, Any] | None = None  # live figures (and pieces' partial text) while transcribing (mixscribe.progress)

    @property
    def webhook_settled(self) -> bool:
        """The webhook's outcome is recorded (delivered or failed): nothing more is sent or recorded."""
        return (self.webhook or {}).get("state") in ("delivered", "failed")

    @classmethod
    def new(
        cls,
        source: SourceObject,
        options: JobOptions | None,
        now: datetime,
        ttl_days: int,
        status: JobStatus = JobStatus.QUEUED,
    ) -> Job:
        return cls(
            job_id=job_id_for(source.bucket, source.name, source.generation),
            owner=owner_for(source.name),
            source=source,
            options=options,
            status=status,
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(days=ttl_days),
        )

    def to_document(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["status"] = self.status.value
        doc["options"] = self.options.to_dict() if self.options else None
        for later in (
            "webhook",
            "metrics",
            "notes",
            "trace",
            "routing",
            "cache_hit",
            "progress",
        ):  # written by later stages, absent until then
            if doc[later] is None:
                del doc[later]
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Job:
        return cls(
            job_id=doc["job_id"],
            owner=doc["owner"],
            source=SourceObject(**doc["source"]),
            options=JobOptions.from_dict(doc["options"]) if doc.get("options") else None,
            status=JobStatus(doc["status"]),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
            expires_at=doc["expires_at"],
            attempts=int(doc.get("attempts", 0)),
            outputs=dict(doc.get("outputs") or {}),
            error=doc.get("error"),
            probe=doc.get("probe"),
            published_at=doc.get("published_at"),
            webhook=doc.get("webhook"),
            metrics=doc.get("metrics"),
            notes=doc.get("notes"),
            trace=doc.get("trace"),
            routing=doc.get("routing"),
            cache_hit=doc.get("cache_hit"),
            progress=doc.get("progress"),
        )
