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


def original_transcript_path(job_id: str, fmt: str = "json") -> str:
    """The unredacted transcript of a redacted job whose owner asked to keep it (``keep_original``)."""
    return transcript_path(job_id, fmt).replace("/transcript.", "/original/transcript.")


def redacted_audio_path(job_id: str, extension: str) -> str:
    """The source audio with its findings silenced (``redact_audio``), in the source's format."""
    return f"{job_prefix(job_id)}audio.redacted.{extension.lower().lstrip('.')}"


AUDIO_CONTENT_TYPES = {
    "wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "aac": "audio/aac", "m4a": "audio/mp4",
    "ogg": "audio/ogg", "oga": "audio/ogg", "opus": "audio/ogg", "webm": "audio/webm", "mp4": "audio/mp4",
    "mov": "video/quicktime",
}  # fmt: skip


def audio_content_type(extension: str) -> str:
    return AUDIO_CONTENT_TYPES.get(extension.lower().lstrip("."), "application/octet-stream")


def gs_uri(bucket: str, path: str) -> str:
    return f"gs://{bucket}/{path}"
