"""What a finished transcription leaves behind: the transcript in four formats and ``metrics.json``."""

from __future__ import annotations

import contextvars
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mixscribe import layout, telemetry
from mixscribe.event_types import JobTranscribed
from mixscribe.jobs import METRICS_SUMMARY_KEYS
from mixscribe.ports import Blobs
from mixscribe.transcript import Transcript

from .engine import Placement
from .outcome import TaskIdentity

SUMMARY_KEYS = METRICS_SUMMARY_KEYS
WRITE_THREADS = 4  # a transcript's four renderings go to storage side by side


class ResultWriter:
    """Writes a job's results to the results bucket; returns their ``gs://`` URIs."""

    def __init__(self, blobs: Blobs, bucket: str) -> None:
        self.blobs = blobs
        self.bucket = bucket
        self._pool = ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="results")  # threads start on first use

    def write(self, path: str, body: str, content_type: str) -> str:
        self.blobs.write(self.bucket, path, body.encode("utf-8"), content_type)
        return layout.gs_uri(self.bucket, path)

    def transcript(self, job_id: str, transcript: Transcript, original: bool = False) -> dict[str, str]:
        """Every rendering of ``transcript``, written side by side (each write waits on the network,
        not the CPU); format → URI (``original``: a redacted job's kept original, under ``original/``,
        keys ``original_<format>``). Raises the first failed write's error once all have ended."""
        path, key = (layout.original_transcript_path, "original_") if original else (layout.transcript_path, "")
        writes = {
            f"{key}{fmt}": self._pool.submit(
                contextvars.copy_context().run, self.write, path(job_id, fmt), body, layout.CONTENT_TYPES[fmt]
            )  # each in the caller's context: its trace
            for fmt, body in transcript.renderings().items()
        }
        for future in writes.values():
            future.exception()  # all ended before any error is raised: no write outlives the attempt
        return {name: future.result() for name, future in writes.items()}

    def metrics(self, job_id: str, metrics: dict[str, Any]) -> str:
        return self.write(layout.metrics_path(job_id), json.dumps(metrics, indent=2, default=str), "application/json")


def job_metrics(
    base: dict[str, Any],
    transcript: Transcript,
    speech_s: float,
    transcribe_s: float | None,
    placement: Placement,
    model_load_s: float,
    task: TaskIdentity,
) -> dict[str, Any]:
    """``metrics.json`` without its timings: the audio's (``base``), the transcript's and the run's."""
    duration = base["duration_s"]
    return {
        **base,
        "speech_s": round(speech_s, 3),
        "speech_ratio": round(min(1.0, speech_s / duration), 4) if duration else 0.0,
        "word_count": len(transcript.text.split()),
        "segment_count": len(transcript.segments),
        "language": transcript.language,
        "model": transcript.model,
        "device": placement.device,
        "compute_type": placement.compute_type,
        "model_load_s": round(model_load_s, 3),
        "real_time_factor": round(transcribe_s / duration, 4) if duration and transcribe_s is not None else None,
        "avg_logprob": mean_logprob(transcript),
        "worker": {"task_index": task.index, "task_count": task.count, "attempt": task.attempt},
    }


def mean_logprob(transcript: Transcript) -> float | None:
    """The segments' mean log-probability, weighted by their length (a rollout compares models by it)."""
    weighted = [(s.avg_logprob, max(0.0, s.end - s.start)) for s in transcript.segments if s.avg_logprob is not None]
    total = sum(length for _, length in weighted)
    return round(sum(p * length for p, length in weighted) / total, 4) if total else None


def record_metrics(metrics: dict[str, Any], since_upload_s: float) -> None:
    """The run's stage times, speed and latency as OpenTelemetry metrics."""
    for stage, seconds in metrics["timings"].items():
        if stage != "total_s":
            telemetry.STAGE_SECONDS.record(seconds, {"stage": stage.removesuffix("_s")})
    if metrics["real_time_factor"] is not None:
        telemetry.REAL_TIME_FACTOR.record(metrics["real_time_factor"], {"device": metrics["device"], "model": metrics["model"]})
    if metrics["duration_s"]:
        telemetry.TIME_PER_AUDIO_MINUTE.record(since_upload_s / (metrics["duration_s"] / 60), {"model": metrics["model"]})


def transcribed_event(metrics: dict[str, Any], outputs: dict[str, str], transcript: Transcript) -> JobTranscribed:
    """``job.transcribed`` from a finished job's metrics, outputs and transcript."""
    return JobTranscribed(
        **{k: metrics[k] for k in SUMMARY_KEYS},
        loudness_lufs=metrics["loudness_lufs"],
        clipping_ratio=metrics["clipping_ratio"],
        outputs=outputs,
        timings=metrics["timings"],
        model=metrics["model"],
        arm=metrics["arm"],
        avg_logprob=metrics["avg_logprob"],
        hallucination_share=metrics["hallucination_share"],
        speakers=len(transcript.speakers) or None,
        speaker_shares=[s.share for s in transcript.speakers] or None,
    )
