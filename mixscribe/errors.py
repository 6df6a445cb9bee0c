"""One exception hierarchy for the whole system, with stable error codes.

Every failure a client can see carries one of the codes in ``ErrorCode``; the codes are a
contract (README lists them) and never change meaning.
"""

from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    """Stable, documented error codes recorded on failed jobs and rejected uploads."""

    INVALID_OBJECT_NAME = "invalid_object_name"
    UNSUPPORTED_FORMAT = "unsupported_format"
    UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
    FILE_TOO_LARGE = "file_too_large"
    INVALID_OPTION = "invalid_option"
    EMPTY_AUDIO = "empty_audio"
    CORRUPT_AUDIO = "corrupt_audio"
    NO_AUDIO_STREAM = "no_audio_stream"
    TOO_LONG = "too_long"
    SOURCE_MISSING = "source_missing"
    SOURCE_REFUSED = "source_refused"
    SOURCE_UNREACHABLE = "source_unreachable"
    MODEL_UNAVAILABLE = "model_unavailable"
    INVALID_REQUEST = "invalid_request"
    TRANSCRIPTION_FAILED = "transcription_failed"
    RETRIES_EXHAUSTED = "retries_exhausted"
    DEAD_LETTERED = "dead_lettered"


class MixscribeError(Exception):
    """Base of every error raised on purpose by mixscribe."""


class PermanentError(MixscribeError):
    """A failure that retrying cannot fix: the job ends ``failed`` with ``code``."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message


class TransientError(MixscribeError):
    """A failure worth retrying (a dependency was unavailable); the work is redelivered."""


class TransitionRefused(MixscribeError):
    """A job state change that would move a job backwards or out of a terminal state."""
