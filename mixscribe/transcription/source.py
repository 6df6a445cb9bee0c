"""The audio a piece is transcribed from: the uploaded file, fetched and decoded once per job.

The task that plans a job downloads and decodes the whole file (it needs all of it to cut at
silences and to measure levels). The samples of every other piece (with their overlap) are saved
next to the job's results as a ``.npy``-in-``.npz`` of 16 kHz float32, so a task taking a piece reads
its own range only, the very samples the planner cut, instead of downloading and decoding the file
again. The stitcher deletes them with the pieces' transcripts.
"""

from __future__ import annotations

import io
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from mixscribe import layout, telemetry
from mixscribe.audio import DecodedAudio, decode_audio
from mixscribe.errors import ErrorCode, PermanentError
from mixscribe.jobs import Job
from mixscribe.ports import BlobMissing, Blobs
from mixscribe.work_requests import TranscriptionRequest


@dataclass(frozen=True)
class PieceAudio:
    """One piece's 16 kHz samples from sample ``offset`` of the file (mono, and per channel if asked)."""

    offset: int
    samples: np.ndarray
    channel_samples: np.ndarray | None = None


def per_channel(piece: PieceAudio, speakers: tuple[str, ...]) -> bool:
    """Whether ``piece`` is transcribed channel by channel: the request names its channels and it has them."""
    channels = piece.channel_samples
    return len(speakers) > 1 and channels is not None and channels.shape[0] >= len(speakers)


def fetch_and_decode(
    blobs: Blobs, request: TranscriptionRequest, max_duration_s: float, timings: dict[str, float]
) -> DecodedAudio:
    """Download and decode the request's object (every channel too when it names speakers)."""
    started = time.monotonic()
    with tempfile.NamedTemporaryFile(prefix="mixscribe-", suffix=".audio") as tmp:
        try:
            with telemetry.span("download", **{"gcs.object": f"gs://{request.bucket}/{request.name}"}):
                blobs.download(request.bucket, request.name, tmp.name, request.generation)
        except BlobMissing as exc:
            raise PermanentError(ErrorCode.SOURCE_MISSING, "the upload was deleted or replaced") from exc
        timings["download_s"] = time.monotonic() - started
        mark = time.monotonic()
        split = len(request.options.channels) > 1
        with telemetry.span("decode"):
            audio = decode_audio(tmp.name, max_duration_s, split_channels=split)
        timings["decode_s"] = time.monotonic() - mark
    return audio


def cut(audio: DecodedAudio, low: int, high: int) -> PieceAudio:
    """Samples ``[low, high)`` of the decoded file."""
    channels = audio.channel_samples[:, low:high] if audio.channel_samples is not None else None
    return PieceAudio(low, audio.samples[low:high], channels)


def piece_audio_path(job_id: str, index: int) -> str:
    return f"{layout.job_prefix(job_id)}pieces/{index}.audio.npz"


def save_piece_audio(blobs: Blobs, bucket: str, job_id: str, index: int, piece: PieceAudio) -> None:
    arrays: dict[str, Any] = {"offset": np.array(piece.offset), "samples": piece.samples}
    if piece.channel_samples is not None:
        arrays["channels"] = piece.channel_samples
    body = io.BytesIO()
    np.savez(body, **arrays)
    blobs.write(bucket, piece_audio_path(job_id, index), body.getvalue(), "application/octet-stream")


def load_piece_audio(blobs: Blobs, bucket: str, job_id: str, index: int) -> PieceAudio:
    """The samples the planner saved for piece ``index``; ``source_missing`` when they are gone."""
    try:
        body = blobs.read(bucket, piece_audio_path(job_id, index))
    except BlobMissing as exc:
        raise PermanentError(ErrorCode.SOURCE_MISSING, f"the audio of piece {index} is gone") from exc
    with np.load(io.BytesIO(body), allow_pickle=False) as saved:
        channels = saved["channels"] if "channels" in saved.files else None
        return PieceAudio(int(saved["offset"]), saved["samples"], channels)


def base_metrics(job: Job, audio: DecodedAudio) -> dict[str, Any]:
    """What ``metrics.json`` says about the audio itself (computed from the whole file)."""
    probe = job.probe or {}
    return {
        "job_id": job.job_id,
        "duration_s": round(audio.duration_s, 3),
        "sample_rate": audio.source_rate,
        "channels": audio.channels,
        "codec": probe.get("codec"),
        "container": probe.get("container"),
        "loudness_lufs": audio.levels.integrated_lufs,
        "true_peak_dbtp": audio.levels.true_peak_dbtp,
        "sample_peak_dbfs": audio.levels.sample_peak_dbfs,
        "rms_dbfs": audio.levels.rms_dbfs,
        "clipping_ratio": audio.levels.clipping_ratio,
    }
