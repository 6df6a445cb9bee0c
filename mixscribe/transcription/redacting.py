"""A redacted job's completion step: the transcript with its findings replaced before any output is
written (so the notes, made from transcript.json, see only redacted text), the unredacted transcript
kept apart only when the owner asked (``keep_original``), and the audio with the findings silenced
(``redact_audio``)."""

from __future__ import annotations

import logging
import time
from pathlib import PurePosixPath
from typing import Any

from mixscribe import layout
from mixscribe.config import Settings
from mixscribe.logs import fields
from mixscribe.ports import Blobs
from mixscribe.redaction.apply import RECORD, redact_transcript
from mixscribe.redaction.audio import redact_audio
from mixscribe.redaction.engines import RedactionEngine
from mixscribe.transcript import Transcript
from mixscribe.work_requests import TranscriptionRequest

from .outputs import ResultWriter

log = logging.getLogger(__name__)


def redact_job(
    request: TranscriptionRequest,
    transcript: Transcript,
    engine: RedactionEngine,
    blobs: Blobs,
    results: ResultWriter,
    settings: Settings,
) -> tuple[Transcript, dict[str, str], float]:
    """The redacted transcript, the extra outputs (``original_<format>``, ``audio_redacted``: URIs) and the
    seconds it took."""
    started = time.monotonic()
    job_id, options = request.job_id, request.options
    redacted, redactions = redact_transcript(transcript, engine, options.redact)
    extra: dict[str, str] = {}
    if options.keep_original:
        extra.update(results.transcript(job_id, transcript, original=True))
    if options.redact_audio:
        extension = PurePosixPath(request.name).suffix.lstrip(".").lower()
        source = blobs.read(request.bucket, request.name)
        audio = redact_audio(source, extension, redactions, settings.redaction_margin_s, settings.redaction_fill)
        path = layout.redacted_audio_path(job_id, extension)
        blobs.write(results.bucket, path, audio, layout.audio_content_type(extension))
        extra["audio_redacted"] = layout.gs_uri(results.bucket, path)
    record: dict[str, Any] = redacted.options[RECORD]
    log.info("transcript redacted", extra=fields(job_id=job_id, findings=record["findings"], engine=record["engine"]))
    return redacted, extra, time.monotonic() - started
