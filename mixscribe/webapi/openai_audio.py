"""OpenAI's audio API on top of ordinary jobs: ``POST /v1/audio/transcriptions`` and ``/translations``.

The multipart fields OpenAI documents are checked here into job options; the file becomes a job of
the caller through the same upload checks and pipeline as every other upload; the job's transcript is
rendered in OpenAI's response shapes (``json``, ``text``, ``srt``, ``verbose_json``, ``vtt``,
``diarized_json``) or as its Server-Sent Events (``transcript.text.delta`` … ``transcript.text.done``).
OpenAI's model names map to the registry's default; the registry's own names pass through.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import Settings
from ..errors import PermanentError
from ..language_names import WHISPER_LANGUAGE_NAMES
from ..transcript import Transcript
from ..uploads import MAX_VOCABULARY_CHARS, OPTION_KEYS, parse_options

OPENAI_MODELS = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-diarize")
DIARIZING_MODEL = "gpt-4o-transcribe-diarize"
FORMATS = ("json", "text", "srt", "verbose_json", "vtt", "diarized_json")
TRANSLATION_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
GRANULARITIES = ("word", "segment")
OPENAI_FIELDS = ("model", "language", "prompt", "response_format", "temperature", "stream", "chunking_strategy")
# mixscribe's own options ride along as extra form fields (the openai client's extra_body)
EXTRA_OPTIONS = tuple(k for k in OPTION_KEYS if k not in ("model", "language", "prompt", "temperature", "task"))
CONTENT_TYPES = {
    "json": "application/json",
    "verbose_json": "application/json",
    "diarized_json": "application/json",
    "text": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}


@dataclass
class OpenAIError(Exception):
    """A refusal in OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}``."""

    status: int
    message: str
    param: str | None = None
    code: str = "invalid_request"


@dataclass(frozen=True)
class AudioRequest:
    """A checked request: the job's option metadata and how to answer."""

    task: str  # transcribe | translate
    metadata: dict[str, str]  # x-goog-meta-* options, as the upload trigger reads them
    response_format: str
    words: bool  # timestamp_granularities[] has "word"
    stream: bool


def _one(form: Mapping[str, Sequence[str]], name: str) -> str:
    values = form.get(name) or []
    if len(values) > 1:
        raise OpenAIError(400, f"'{name}' was given more than once", name)
    return values[0].strip() if values else ""


def _flag(form: Mapping[str, Sequence[str]], name: str) -> bool:
    raw = _one(form, name).lower()
    if raw not in ("", "true", "false", "1", "0"):
        raise OpenAIError(400, f"'{name}' must be true or false", name)
    return raw in ("true", "1")


def known_models(settings: Settings) -> tuple[str, ...]:
    """Every name ``model`` accepts: OpenAI's and the registry's."""
    return (*OPENAI_MODELS, *sorted(settings.models().models))


def parse_request(form: Mapping[str, Sequence[str]], settings: Settings, task: str) -> AudioRequest:
    """The multipart fields (everything but ``file``) checked, or ``OpenAIError`` naming the field."""
    allowed = {*OPENAI_FIELDS, "timestamp_granularities[]", "timestamp_granularities", *EXTRA_OPTIONS}
    if task == "translate":
        allowed -= {"language", "timestamp_granularities[]", "timestamp_granularities", "stream"}
    unknown = sorted(set(form) - allowed)
    if unknown:
        raise OpenAIError(400, f"Unrecognized request argument supplied: {unknown[0]}", unknown[0], "unknown_parameter")
    model = _one(form, "model")
    if not model:
        raise OpenAIError(400, "you must provide a model parameter", "model", "missing_required_parameter")
    if model not in known_models(settings):
        raise OpenAIError(
            404,
            f"The model '{model[:64]}' does not exist; use one of {', '.join(known_models(settings))}",
            "model",
            "model_not_found",
        )
    formats = FORMATS if task == "transcribe" else TRANSLATION_FORMATS
    response_format = _one(form, "response_format") or "json"
    if response_format not in formats:
        raise OpenAIError(400, f"response_format must be one of {', '.join(formats)}", "response_format")
    granularities = [g.strip() for g in (form.get("timestamp_granularities[]") or form.get("timestamp_granularities") or [])]
    if any(g not in GRANULARITIES for g in granularities):
        raise OpenAIError(400, "timestamp_granularities[] items are word or segment", "timestamp_granularities[]")
    if granularities and response_format != "verbose_json":
        raise OpenAIError(400, "timestamp_granularities[] needs response_format=verbose_json", "timestamp_granularities[]")
    chunking = _one(form, "chunking_strategy")
    if chunking not in ("", "auto"):
        raise OpenAIError(400, "chunking_strategy is auto (speech is always chunked by voice activity)", "chunking_strategy")
    language = _one(form, "language")
    if language and language not in WHISPER_LANGUAGE_NAMES:  # exactly the codes (the spec's OpenAILanguage)
        raise OpenAIError(400, f"language must be an ISO-639-1 code Whisper knows, got {language[:16]!r}", "language")
    if len(_one(form, "prompt")) > MAX_VOCABULARY_CHARS:
        raise OpenAIError(400, f"prompt is longer than {MAX_VOCABULARY_CHARS} characters", "prompt")
    stream = _flag(form, "stream")
    if stream and response_format not in ("json", "text"):
        raise OpenAIError(400, "stream=true answers events; response_format must be json or text", "stream")
    metadata = {key: _one(form, key) for key in EXTRA_OPTIONS if _one(form, key)}
    metadata.setdefault("notes", "false")  # OpenAI callers ask for a transcript; notes only when asked for
    if model in settings.models().models:
        metadata["model"] = model
    if model == DIARIZING_MODEL or response_format == "diarized_json":
        metadata["diarize"] = "true"
    for key in ("language", "prompt", "temperature"):
        if _one(form, key):
            metadata[key] = _one(form, key)
    metadata["task"] = task
    try:
        parse_options(metadata, settings)  # the upload trigger's own checks, so a refusal comes now
    except PermanentError as err:
        field = next((k for k in metadata if err.message.startswith(k)), None)
        raise OpenAIError(400, err.message, field, err.code.value) from err
    return AudioRequest(task, metadata, response_format, "word" in granularities, stream)


def language_name(code: str) -> str:
    """Whisper's name of a language code, as OpenAI answers (``en`` → ``english``)."""
    return WHISPER_LANGUAGE_NAMES.get(code, code)


def usage(transcript: Transcript) -> dict[str, Any]:
    return {"type": "duration", "seconds": round(transcript.duration_s, 3)}


def _segment(index: int, seg: Any) -> dict[str, Any]:
    body = {
        "id": index,
        "seek": seg.seek,
        "start": seg.start,
        "end": seg.end,
        "text": " " + seg.text.strip() if seg.text.strip() else "",
        "tokens": [],  # token ids are not kept in transcripts
        "temperature": seg.temperature,
        "avg_logprob": seg.avg_logprob,
        "compression_ratio": seg.compression_ratio,
        "no_speech_prob": seg.no_speech_prob,
    }
    if seg.speaker:
        body["speaker"] = seg.speaker
    return body


def _speaker_letters(transcript: Transcript) -> dict[str, str]:
    """OpenAI labels unnamed speakers A, B, …; renamed ones keep their names."""
    out: dict[str, str] = {}
    for i, speaker in enumerate(transcript.speakers):
        out[speaker.label] = chr(ord("A") + i) if speaker.label == speaker.id else speaker.label
    return out


def render(transcript: Transcript, request: AudioRequest) -> tuple[str, str]:
    """The body and its content type for ``request.response_format``."""
    fmt = request.response_format
    if fmt == "text":
        return transcript.text + "\n", CONTENT_TYPES[fmt]
    if fmt in ("srt", "vtt"):
        return (transcript.to_srt() if fmt == "srt" else transcript.to_vtt()), CONTENT_TYPES[fmt]
    body: dict[str, Any]
    if fmt == "json":
        body = {"text": transcript.text, "usage": usage(transcript)}
    elif fmt == "verbose_json":
        body = {
            "task": request.task,
            "language": "english"
            if request.task == "translate"
            else WHISPER_LANGUAGE_NAMES.get(transcript.language, transcript.language),
            "duration": transcript.duration_s,
            "text": transcript.text,
            "segments": [_segment(i, seg) for i, seg in enumerate(transcript.segments)],
            "usage": usage(transcript),
        }
        if request.words:
            body["words"] = [
                {"word": w.word.strip(), "start": w.start, "end": w.end} for seg in transcript.segments for w in seg.words
            ]
    else:
        letters = _speaker_letters(transcript)
        body = {
            "task": "transcribe",
            "duration": transcript.duration_s,
            "text": transcript.text,
            "segments": [
                {
                    "type": "transcript.text.segment",
                    "id": f"seg_{i}",
                    "start": seg.start,
                    "end": seg.end,
                    "text": seg.text.strip(),
                    "speaker": letters.get(seg.speaker or "", seg.speaker or "A"),
                }
                for i, seg in enumerate(transcript.segments)
                if seg.text.strip()
            ],
            "usage": usage(transcript),
        }
    return json.dumps(body, ensure_ascii=False), CONTENT_TYPES[fmt]


def sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def stream_events(transcript: Transcript, sent: Sequence[str] = ()) -> Iterator[str]:
    """OpenAI's transcription stream: a delta per segment, then the whole text. ``sent``: the segment texts
    already streamed while the model ran; the final transcript's segments that repeat them in order are not
    sent again. When the final transcript differs from what was streamed (a guard dropped a segment, say),
    nothing more is sent but the ``done`` event, whose text is the final one."""
    texts = [seg.text.strip() for seg in transcript.segments if seg.text.strip()]
    start = len(sent) if texts[: len(sent)] == list(sent) else len(texts)
    for index in range(start, len(texts)):
        yield sse({"type": "transcript.text.delta", "delta": texts[index] if index == 0 else " " + texts[index]})
    yield sse({"type": "transcript.text.done", "text": transcript.text})


def error_body(err: OpenAIError) -> dict[str, Any]:
    kind = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}.get(err.status)
    kind = kind or ("server_error" if err.status >= 500 else "invalid_request_error")
    return {"error": {"message": err.message, "type": kind, "param": err.param, "code": err.code}}
