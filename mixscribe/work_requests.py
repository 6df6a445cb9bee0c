"""The work requests on the ``transcribe-requests`` and ``notes-requests`` topics.

(Named so as not to shadow the ``requests`` library.)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from .errors import ErrorCode, PermanentError
from .jobs import JobOptions
from .ports import Publisher
from .telemetry import trace_attributes


@dataclass(frozen=True)
class TranscriptionRequest:
    """Which object generation to transcribe for which job, with its validated options."""

    job_id: str
    bucket: str
    name: str
    generation: int
    options: JobOptions
    shard: int | None = None  # a piece of a long file (see mixscribe.transcription); None: the whole job
    audio_s: float | None = None  # the audio's length as probed (a piece's own), None if unknown: sizes a task's work in flight

    def to_json(self) -> bytes:
        data = asdict(self)
        data["options"] = self.options.to_dict()
        for optional in ("shard", "audio_s"):
            if data[optional] is None:
                del data[optional]
        return json.dumps(data, sort_keys=True).encode()

    @staticmethod
    def audio_seconds(payload: bytes) -> float | None:
        """A request body's ``audio_s``, None when it has none (or is not a request: it fails on its own)."""
        try:
            value = json.loads(payload).get("audio_s")
            return float(value) if value is not None and float(value) >= 0 else None
        except (ValueError, TypeError, AttributeError):
            return None

    @classmethod
    def from_json(cls, payload: bytes) -> TranscriptionRequest:
        """Parse a message body; a malformed one is a permanent ``invalid_request``."""
        try:
            data: dict[str, Any] = json.loads(payload)
            return cls(
                job_id=str(data["job_id"]),
                bucket=str(data["bucket"]),
                name=str(data["name"]),
                generation=int(data["generation"]),
                options=JobOptions.from_dict(data["options"]),
                shard=int(data["shard"]) if data.get("shard") is not None else None,
                audio_s=float(data["audio_s"]) if data.get("audio_s") is not None else None,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError(ErrorCode.INVALID_REQUEST, f"malformed transcription request: {exc}") from exc


@dataclass(frozen=True)
class NotesRequest:
    """Summarise job ``job_id``'s transcript; ``force`` re-summarises a finished job."""

    job_id: str
    force: bool = False

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, payload: bytes) -> NotesRequest:
        try:
            data = json.loads(payload)
            job_id = data["job_id"]
            if not isinstance(job_id, str) or not job_id:
                raise ValueError("job_id must be a non-empty string")
            return cls(job_id=job_id, force=bool(data.get("force", False)))
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError(ErrorCode.INVALID_REQUEST, f"malformed notes request: {exc}") from exc


def publish_request(publisher: Publisher, topic: str, body: bytes, job_id: str, timeout_s: float = 30.0) -> None:
    """Publish a work request with its ``job_id`` and the current trace; wait for the server's ack."""
    publisher.publish(topic, body, job_id=job_id, **trace_attributes()).result(timeout=timeout_s)


def publish_notes_request(publisher: Publisher, settings: Any, request: NotesRequest, timeout_s: float = 30.0) -> None:
    publish_request(publisher, settings.topic_path(settings.notes_topic), request.to_json(), request.job_id, timeout_s)
