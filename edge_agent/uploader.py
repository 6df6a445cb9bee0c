"""Uploads sealed segments, oldest first, and deletes each only after the bucket confirms it.

A segment up to ``upload_chunk_bytes`` goes in one request, a larger one as a resumable upload in
chunks of that size, both with ``if_generation_match=0`` (never overwrite) and the CRC32C the spool
computed when it sealed the segment, which the bucket checks against the bytes it received (the
file is not read a second time to checksum it); the object's CRC32C reported by the bucket must also
equal the spool's before the local file goes. Failures back off exponentially with full jitter (capped), forever: the agent works
offline for hours and drains the backlog when the network returns. A retry first asks whether
an earlier attempt already landed (same CRC32C → done), so an upload cut off after the bucket
finished it is not sent twice. An optional bandwidth cap throttles the reads.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any, BinaryIO

from google.api_core import exceptions as gexc

from mixscribe.event_types import EdgeSegmentUploaded
from mixscribe.events import EventSink, make_event
from mixscribe.jobs import job_id_for
from mixscribe.logs import fields

from .config import AgentConfig
from .spool import SegmentRecord, Spool

log = logging.getLogger("edge.uploader")
SOURCE = "edge_agent"


class ThrottledReader:
    """A file wrapper that reads at most ``rate`` bytes per second."""

    def __init__(self, handle: BinaryIO, rate: int) -> None:
        self.handle = handle
        self.rate = rate
        self.started = time.monotonic()
        self.sent = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.sent += len(chunk)
        ahead = self.sent / self.rate - (time.monotonic() - self.started)
        if ahead > 0:
            time.sleep(ahead)
        return chunk

    def tell(self) -> int:
        return self.handle.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.handle.seek(offset, whence)


class Uploader:
    def __init__(self, config: AgentConfig, spool: Spool, storage: Any, events: EventSink | None, stop: threading.Event) -> None:
        self.config = config
        self.spool = spool
        self.bucket = storage.bucket(config.bucket)
        self.events = events
        self.stop = stop
        self.wake = threading.Event()
        self.last_upload_at: float | None = None
        self.last_error = ""
        self.uploaded = 0

    def object_name(self, record: SegmentRecord) -> str:
        return f"edge/{self.config.device_id}/{record.session}/{record.seq:06d}.flac"

    def metadata(self, record: SegmentRecord) -> dict[str, str]:
        return {
            "device": self.config.device_id,
            "session": record.session,
            "seq": str(record.seq),
            "start-time": record.started_at,
            "sample-rate": str(record.rate),
            "channels": self.config.channel_map,
            **(self.config.options or {}),
        }

    def run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            pending = self.spool.pending()
            if not pending:
                self.wake.wait(0.5)
                self.wake.clear()
                continue
            for record in pending:
                if self.stop.is_set():
                    return
                try:
                    self.upload(record)
                    failures = 0
                except Exception as exc:  # network down, emulator stopped, 5xx: back off, keep the file
                    failures += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                    self.spool.mark_failed_attempt(record, self.last_error)
                    delay = random.uniform(0, min(self.config.backoff_cap_s, 0.5 * 2 ** min(failures, 16)))
                    log.warning(
                        "upload failed; will retry",
                        extra=fields(
                            seq=record.seq,
                            session=record.session,
                            attempt=record.attempts + 1,
                            retry_in_s=round(delay, 2),
                            reason=self.last_error,
                        ),
                    )
                    self.stop.wait(delay)
                    break

    def _landed(self, name: str, record: SegmentRecord) -> Any | None:
        """The object if an earlier attempt already stored exactly this segment, else ``None``."""
        existing = self.bucket.get_blob(name, timeout=(5, 30), retry=None)
        if existing is not None and existing.crc32c != record.crc32c:
            raise RuntimeError(f"{name} exists with another checksum; the segment is kept locally")
        return existing

    def upload(self, record: SegmentRecord) -> None:
        name = self.object_name(record)
        stored = self._landed(name, record) if record.attempts else None
        if stored is None:
            chunked = record.size > self.config.upload_chunk_bytes  # one request below it: no session to open
            blob = self.bucket.blob(name, chunk_size=self.config.upload_chunk_bytes if chunked else None)
            blob.metadata = self.metadata(record)
            blob.crc32c = record.crc32c  # sent with the object: the bucket refuses bytes that do not match it
            with open(record.path, "rb") as handle:
                reader = ThrottledReader(handle, self.config.bandwidth_bytes_s) if self.config.bandwidth_bytes_s else handle
                try:
                    blob.upload_from_file(
                        reader,
                        size=record.size,
                        content_type="audio/flac",
                        if_generation_match=0,
                        checksum=None,  # the spool's CRC32C rides with the object (above): computed once
                        retry=None,
                        timeout=(10, 120),
                    )
                    stored = blob
                except gexc.PreconditionFailed:
                    stored = self._landed(name, record)
                    if stored is None:
                        raise
        if stored.crc32c != record.crc32c:
            raise RuntimeError(f"the bucket reports CRC32C {stored.crc32c}, the spool {record.crc32c}")
        self.spool.mark_uploaded(record, name)
        self.uploaded += 1
        self.last_upload_at = time.time()
        log.info("segment uploaded", extra=fields(object=name, size=record.size, crc32c=record.crc32c))
        if self.events is not None:
            job_id = job_id_for(self.config.bucket, name, stored.generation)
            try:
                self.events.emit(
                    make_event(
                        EdgeSegmentUploaded(
                            device=self.config.device_id,
                            session=record.session,
                            seq=record.seq,
                            object=name,
                            size=record.size,
                            duration_s=round(record.duration_s, 3),
                            crc32c=record.crc32c,
                            started_at=record.started_at,
                        ),
                        job_id,
                        SOURCE,
                    )
                )
            except Exception as exc:  # events are best effort; the segment is safe in the bucket
                log.warning("segment event not sent", extra=fields(object=name, reason=str(exc)[:200]))
