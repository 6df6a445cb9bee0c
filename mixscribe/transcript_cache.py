"""The result cache: the same bytes, for the same owner, with the same transcription options, reuse an
earlier transcript instead of running the model again.

An entry (``transcript_cache/{key}`` on the ``Documents`` port) names the job whose outputs answer it.
The key hashes the owner (never shared across owners), the object's checksum (MD5, or CRC32C for
composite objects; no checksum, no caching), the model, language, channel map, speaker options, prompt
and hotwords, and the engine settings that change a transcript (beam size). Redacted jobs are not
cached: their outputs include audio and a kept original that a copy would have to carry, and their
owner asked to keep less.
A hit copies that job's outputs under the new job, so the copy stays when the earlier job is deleted;
deleting the earlier job removes its entry, and an entry whose outputs are gone (expired) is a miss.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from . import layout
from .config import Settings
from .jobs import Job
from .logs import fields
from .ports import BlobMissing, Blobs, Documents
from .store import utcnow

log = logging.getLogger(__name__)
CACHE = "transcript_cache"
VERSION = 3  # bump when what a transcript depends on changes
OUTPUTS = ("json", "srt", "vtt", "txt")


@dataclass(frozen=True)
class CacheHit:
    earlier_job_id: str
    outputs: dict[str, str]  # format → gs:// URI of this job's copies
    metrics: dict[str, Any]  # the earlier run's metrics.json (this job's copy)


class TranscriptCache:
    def __init__(self, documents: Documents, blobs: Blobs, settings: Settings) -> None:
        self.documents = documents
        self.blobs = blobs
        self.settings = settings

    def key_for(self, job: Job) -> str | None:
        """The job's cache key; ``None`` when its object has no checksum, it has no options or it redacts."""
        checksum = job.source.md5 or job.source.crc32c
        if not checksum or job.options is None or job.options.redact:
            return None
        parts = {
            "v": VERSION,
            "owner": job.owner,
            "checksum": checksum,
            "model": job.options.model,
            "language": job.options.language,
            "channels": list(job.options.channels),
            "speakers": [job.options.diarize, job.options.speakers, job.options.min_speakers, job.options.max_speakers],
            "vocabulary": [job.options.prompt, job.options.hotwords],
            "decoding": [job.options.task, job.options.temperature],
            "glossary": [term.to_dict() for term in job.options.glossary],
            "beam_size": self.settings.beam_size,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def remember(self, job: Job) -> str | None:
        """Make ``job``'s outputs the answer to its key (it just finished transcribing); the key."""
        key = self.key_for(job)
        if key is not None:
            expires = utcnow() + timedelta(days=self.settings.job_ttl_days)
            self.documents.set(f"{CACHE}/{key}", {"job_id": job.job_id, "created_at": utcnow(), "expires_at": expires})
        return key

    def forget(self, job: Job) -> None:
        """Remove the entry ``job`` answers (it is being deleted)."""
        key = self.key_for(job)
        if key is None:
            return
        entry = self.documents.get(f"{CACHE}/{key}")
        if entry is not None and entry.get("job_id") == job.job_id:
            self.documents.delete(f"{CACHE}/{key}")

    def reuse(self, job: Job) -> CacheHit | None:
        """On a hit, ``job`` gets copies of the earlier job's outputs."""
        key = self.key_for(job)
        entry = self.documents.get(f"{CACHE}/{key}") if key else None
        earlier = str(entry["job_id"]) if entry else None
        if earlier is None or earlier == job.job_id:
            return None
        bucket = self.settings.results_bucket
        try:
            bodies = {fmt: self.blobs.read(bucket, layout.transcript_path(earlier, fmt)) for fmt in OUTPUTS}
            metrics = json.loads(self.blobs.read(bucket, layout.metrics_path(earlier)))
        except BlobMissing:
            log.info("cached transcript gone: a miss", extra=fields(job_id=job.job_id, earlier=earlier))
            return None
        transcript = json.loads(bodies["json"])
        transcript["job_id"] = job.job_id
        bodies["json"] = json.dumps(transcript, ensure_ascii=False, indent=2).encode()
        outputs = {}
        for fmt, body in bodies.items():
            path = layout.transcript_path(job.job_id, fmt)
            self.blobs.write(bucket, path, body, layout.CONTENT_TYPES[fmt])
            outputs[fmt] = layout.gs_uri(bucket, path)
        metrics.update(job_id=job.job_id, cache_hit={"job_id": earlier})
        path = layout.metrics_path(job.job_id)
        self.blobs.write(bucket, path, json.dumps(metrics, indent=2, default=str).encode(), "application/json")
        outputs["metrics"] = layout.gs_uri(bucket, path)
        log.info("transcript reused", extra=fields(job_id=job.job_id, earlier=earlier))
        return CacheHit(earlier, outputs, metrics)
