"""Validation of an uploaded object before any byte of it is decoded.

Checks run cheapest first: object name, extension, content type, size, then the options that
ride on ``x-goog-meta-*`` metadata. Each failure raises ``PermanentError`` with a stable code.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from urllib.parse import urlsplit

from .config import Settings
from .errors import ErrorCode, PermanentError
from .jobs import JobOptions
from .language_names import WHISPER_LANGUAGE_NAMES
from .redaction.entities import UnknownEntity, parse_redact
from .topology import PRIORITIES

AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".webm", ".mp4", ".mov"})
CONTENT_TYPES = frozenset(
    {
        "application/octet-stream",
        "application/ogg",
        "video/mp4",
        "video/webm",
        "video/quicktime",
        "video/ogg",
    }
)
MAX_NAME_BYTES = 1024
MAX_CHANNEL_NAMES = 8
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# Whisper's language codes (ISO 639-1 plus "haw", "yue"); "auto" lets the model detect.
WHISPER_LANGUAGES = frozenset(WHISPER_LANGUAGE_NAMES)
OPTION_KEYS = (
    "model",
    "language",
    "priority",
    "notes",
    "channels",
    "webhook",
    "diarize",
    "speakers",
    "min_speakers",
    "max_speakers",
    "redact",
    "redact_audio",
    "keep_original",
    "prompt",
    "hotwords",
    "task",
    "temperature",
)
TASKS = ("transcribe", "translate")
MAX_SPEAKERS = 10
MAX_WEBHOOK_CHARS = 2048
MAX_VOCABULARY_CHARS = 600  # per option; object metadata holds 8 KiB in all, Whisper's prompt 224 tokens


@functools.cache
def plain_text_pattern() -> str:
    """The regex text options match (the API's spec states it too): no controls but whitespace (which
    becomes one space), no lone surrogates, no invisible format characters (bidi overrides, zero widths).
    Format characters beyond the Basic Multilingual Plane stay allowed (the tags of emoji flag sequences),
    so the pattern needs only ``\\uXXXX`` escapes, which every regex dialect of JSON Schema tools reads.
    Made on first use from Python's Unicode database (0.05 s: kept off every deployable's start)."""

    def escape(code: int) -> str:
        return f"\\u{code:04x}"

    refused = [c for c in range(0x10000) if unicodedata.category(chr(c)) in ("Cc", "Cs", "Cf") and not chr(c).isspace()]
    ranges, start = [], refused[0]
    for prev, cur in zip(refused, [*refused[1:], -1]):
        if cur != prev + 1:
            ranges.append(escape(start) if start == prev else f"{escape(start)}-{escape(prev)}")
            start = cur
    return f"^[^{''.join(ranges)}]*$"


def validate_object_name(name: str) -> None:
    """Refuse names that are empty, too long, hidden, traversing or full of control characters."""
    if not name or len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise PermanentError(ErrorCode.INVALID_OBJECT_NAME, "object name is empty or too long")
    if name.startswith("/") or name.endswith("/"):
        raise PermanentError(ErrorCode.INVALID_OBJECT_NAME, "object name starts or ends with '/'")
    segments = name.split("/")
    if any(seg in ("", ".", "..") for seg in segments):
        raise PermanentError(ErrorCode.INVALID_OBJECT_NAME, "object name has an empty, '.' or '..' segment")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in name):
        raise PermanentError(ErrorCode.INVALID_OBJECT_NAME, "object name has control or format characters")
    if unicodedata.normalize("NFC", name) != name:
        raise PermanentError(ErrorCode.INVALID_OBJECT_NAME, "object name is not NFC-normalised")


def extension_of(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return "." + base.rsplit(".", 1)[-1].lower() if "." in base else ""


def validate_extension(name: str) -> None:
    ext = extension_of(name)
    if ext not in AUDIO_EXTENSIONS:
        allowed = ", ".join(sorted(AUDIO_EXTENSIONS))
        raise PermanentError(ErrorCode.UNSUPPORTED_FORMAT, f"extension {ext or '(none)'!r} is not one of {allowed}")


def validate_content_type(content_type: str) -> None:
    base = (content_type or "application/octet-stream").split(";")[0].strip().lower()
    if base.startswith("audio/") or base in CONTENT_TYPES:
        return
    raise PermanentError(ErrorCode.UNSUPPORTED_CONTENT_TYPE, f"content type {base!r} is not audio or a supported video")


def validate_size(size: int, settings: Settings) -> None:
    if size <= 0:
        raise PermanentError(ErrorCode.EMPTY_AUDIO, "the object is empty")
    if size > settings.max_upload_bytes:
        raise PermanentError(
            ErrorCode.FILE_TOO_LARGE,
            f"the object has {size} bytes, more than the limit of {settings.max_upload_bytes}",
        )


def _parse_bool(key: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise PermanentError(ErrorCode.INVALID_OPTION, f"{key} must be true or false, got {raw!r}")


def _speaker_count(key: str, raw: str) -> int:
    text = raw.strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_SPEAKERS:
        raise PermanentError(ErrorCode.INVALID_OPTION, f"{key} must be a whole number from 1 to {MAX_SPEAKERS}, got {raw!r}")
    return int(text)


def parse_speaker_options(meta: Mapping[str, str]) -> tuple[bool, int, int, int]:
    """``diarize`` and the expected speaker count or its bounds (0: not given), checked together."""
    diarize = _parse_bool("diarize", meta["diarize"]) if "diarize" in meta else False
    counts = {
        key: _speaker_count(key, meta[key]) for key in ("speakers", "min_speakers", "max_speakers") if meta.get(key, "").strip()
    }
    if counts and not diarize:
        raise PermanentError(ErrorCode.INVALID_OPTION, f"{', '.join(counts)} needs diarize=true")
    if "speakers" in counts and len(counts) > 1:
        raise PermanentError(ErrorCode.INVALID_OPTION, "give speakers or min_speakers/max_speakers, not both")
    low, high = counts.get("min_speakers", 0), counts.get("max_speakers", 0)
    if low and high and low > high:
        raise PermanentError(ErrorCode.INVALID_OPTION, f"min_speakers ({low}) is more than max_speakers ({high})")
    return diarize, counts.get("speakers", 0), low, high


def parse_redaction_options(meta: Mapping[str, str]) -> tuple[tuple[str, ...], bool, bool]:
    """``redact`` (``pii`` or entity types), ``redact_audio`` and ``keep_original``, checked together."""
    try:
        redact = parse_redact(meta.get("redact", ""))
    except UnknownEntity as exc:
        raise PermanentError(ErrorCode.INVALID_OPTION, str(exc)) from exc
    flags = {key: _parse_bool(key, meta[key]) for key in ("redact_audio", "keep_original") if key in meta}
    if not redact and any(flags.values()):
        raise PermanentError(ErrorCode.INVALID_OPTION, f"{', '.join(k for k, v in flags.items() if v)} needs redact")
    return redact, flags.get("redact_audio", False), flags.get("keep_original", False)


def parse_vocabulary(meta: Mapping[str, str]) -> tuple[str, str]:
    """``prompt`` and ``hotwords``: plain text, one line, at most ``MAX_VOCABULARY_CHARS`` each."""
    values = []
    for key in ("prompt", "hotwords"):
        text = " ".join(meta.get(key, "").split())
        if len(text) > MAX_VOCABULARY_CHARS or not re.match(plain_text_pattern(), text):
            raise PermanentError(
                ErrorCode.INVALID_OPTION, f"{key} must be printable text of at most {MAX_VOCABULARY_CHARS} characters"
            )
        values.append(text)
    return values[0], values[1]


def parse_decoding(meta: Mapping[str, str]) -> tuple[str, float]:
    """``task`` (transcribe or translate) and ``temperature`` (0 to 1)."""
    task = meta.get("task", "transcribe").strip().lower() or "transcribe"
    if task not in TASKS:
        raise PermanentError(ErrorCode.INVALID_OPTION, f"task must be one of {', '.join(TASKS)}, got {task!r}")
    raw = meta.get("temperature", "").strip()
    try:
        temperature = float(raw) if raw else 0.0
    except ValueError:
        temperature = -1.0
    if not 0.0 <= temperature <= 1.0:
        raise PermanentError(ErrorCode.INVALID_OPTION, f"temperature must be a number from 0 to 1, got {raw!r}")
    return task, temperature


def requested_model(metadata: Mapping[str, str] | None) -> str:
    """The model the metadata names ("": none, so the priority's default or a rollout decides)."""
    return next((str(v).strip() for k, v in (metadata or {}).items() if str(k).lower() == "model"), "")


def parse_options(metadata: Mapping[str, str] | None, settings: Settings) -> JobOptions:
    """Options from object metadata, each checked against its allow-list."""
    meta = {str(k).lower(): str(v) for k, v in (metadata or {}).items()}
    language = meta.get("language", "auto").strip().lower()
    if language != "auto" and language not in WHISPER_LANGUAGES:
        raise PermanentError(ErrorCode.INVALID_OPTION, f"language {language!r} is not supported")
    priority = meta.get("priority", "normal").strip().lower()
    if priority not in PRIORITIES:
        raise PermanentError(ErrorCode.INVALID_OPTION, f"priority must be one of {', '.join(PRIORITIES)}")
    model = settings.models().choose(requested_model(metadata), priority, language)
    notes = _parse_bool("notes", meta["notes"]) if "notes" in meta else True
    channels: tuple[str, ...] = ()
    if meta.get("channels", "").strip():
        channels = tuple(part.strip() for part in meta["channels"].split(","))
        if len(channels) > MAX_CHANNEL_NAMES or not all(_CHANNEL_NAME.match(c) for c in channels):
            raise PermanentError(
                ErrorCode.INVALID_OPTION,
                f"channels must be up to {MAX_CHANNEL_NAMES} comma-separated names of [A-Za-z0-9_-]",
            )
    webhook = meta.get("webhook", "").strip()
    if webhook:
        parts = urlsplit(webhook)
        if len(webhook) > MAX_WEBHOOK_CHARS or parts.scheme not in ("https", "http") or not parts.hostname or parts.username:
            raise PermanentError(ErrorCode.INVALID_OPTION, "webhook must be an https URL without credentials")
    diarize, speakers, low, high = parse_speaker_options(meta)
    redact, redact_audio, keep_original = parse_redaction_options(meta)
    prompt, hotwords = parse_vocabulary(meta)
    task, temperature = parse_decoding(meta)
    return JobOptions(
        model=model,
        language=language,
        priority=priority,
        notes=notes,
        channels=channels,
        webhook=webhook,
        diarize=diarize,
        speakers=speakers,
        min_speakers=low,
        max_speakers=high,
        redact=redact,
        redact_audio=redact_audio,
        keep_original=keep_original,
        prompt=prompt,
        hotwords=hotwords,
        task=task,
        temperature=temperature,
    )


def validate_upload(
    name: str, content_type: str, size: int, metadata: Mapping[str, str] | None, settings: Settings
) -> JobOptions:
    """Every check that needs no audio bytes; returns the validated options."""
    validate_object_name(name)
    validate_extension(name)
    validate_content_type(content_type)
    validate_size(size, settings)
    return parse_options(metadata, settings)
