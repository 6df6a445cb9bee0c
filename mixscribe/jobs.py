"""The job model: deterministic ids, statuses and the transitions that may never go backwards."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any


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


def job_id_for(bucket: str, name: str, generation: int | str) -> str:
    """Deterministic job id for one object generation: a redelivered event maps to the same job."""
    digest = hashlib.sha256(f"gs://{bucket}/{name}#{generation}".encode()).hexdigest()
    return f"j{digest[:31]}"


def owner_for(object_name: str) -> str:
    """Owner of an upload from its prefix: ``users/{uid}/…`` or ``edge/{device}/…``."""
    parts = object_name.split("/")
    if len(parts) >= 3 and parts[0] == "users" and parts[1]:
        return parts[1]
    if len(parts) >= 3 and parts[0] == "edge" and parts[1]:
        return f"edge:{parts[1]}"
    return "anonymous"


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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "JobOptions":
        return cls(
            model=str(data["model"]),
            language=str(data.get("language", "auto")),
            priority=str(data.get("priority", "normal")),
            notes=bool(data.get("notes", True)),
            channels=tuple(data.get("channels") or ()),
        )


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

    @classmethod
    def new(
        cls,
        source: SourceObject,
        options: JobOptions | None,
        now: datetime,
        ttl_days: int,
        status: JobStatus = JobStatus.QUEUED,
    ) -> "Job":
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
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> "Job":
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
        )
