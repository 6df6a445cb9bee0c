"""Where things live in the results bucket (contract)."""

from __future__ import annotations

TRANSCRIPT_FORMATS = ("json", "srt", "vtt", "txt")
CONTENT_TYPES = {
    "json": "application/json",
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "txt": "text/plain; charset=utf-8",
}


def job_prefix(job_id: str) -> str:
    return f"jobs/{job_id}/"


def transcript_path(job_id: str, fmt: str) -> str:
    if fmt not in TRANSCRIPT_FORMATS:
        raise ValueError(f"unknown transcript format {fmt!r}")
    return f"{job_prefix(job_id)}transcript.{fmt}"


def metrics_path(job_id: str) -> str:
    return f"{job_prefix(job_id)}metrics.json"


def notes_path(job_id: str, fmt: str) -> str:
    if fmt not in ("json", "md"):
        raise ValueError(f"unknown notes format {fmt!r}")
    return f"{job_prefix(job_id)}notes.{fmt}"


def gs_uri(bucket: str, path: str) -> str:
    return f"gs://{bucket}/{path}"
