"""A piece's live progress tracker, wired to the job it belongs to (``mixscribe.progress``)."""

from __future__ import annotations

import logging

from mixscribe.config import Settings
from mixscribe.logs import fields
from mixscribe.progress import PieceProgress, ProgressTracker
from mixscribe.store import JobStore
from mixscribe.work_requests import TranscriptionRequest

from .piece_store import Plan
from .source import PieceAudio, per_channel

log = logging.getLogger(__name__)


def piece_tracker(
    store: JobStore, settings: Settings, request: TranscriptionRequest, plan: Plan, index: int, piece: PieceAudio
) -> ProgressTracker:
    """Live progress of piece ``index`` on the job; partial text only when no redaction is asked for (what
    is shown before the end must never be what redaction removes). A failed write is logged and skipped:
    progress is a courtesy, the transcription goes on without it."""
    job_id, audio_s = request.job_id, float(plan.metrics["duration_s"])

    def record(piece_index: int, state: PieceProgress) -> None:
        try:
            store.record_progress(job_id, piece_index, state, audio_s)
        except Exception:
            log.warning("progress not recorded", exc_info=True, extra=fields(job_id=job_id))

    seconds = piece.samples.shape[0] / plan.rate
    if per_channel(piece, request.options.channels):
        seconds *= len(request.options.channels)  # transcribed one channel after the other
    offset_s = piece.offset / plan.rate
    return ProgressTracker(record, index, seconds, offset_s, settings.progress_interval_s, not request.options.redact)
