"""Audio probing: what is in an upload, read through a seekable stream without loading it whole.

``sniff_container`` recognises audio and video containers by their magic bytes, so text, HTML, PDF
or zip files named as audio fail as ``unsupported_format`` before any decoder sees them; a file
that looks like a container but will not open or decode is ``corrupt_audio``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, BinaryIO

import av

from .errors import ErrorCode, PermanentError

SNIFF_BYTES = 64
DECODE_CHECK_S = 1.0


def sniff_container(head: bytes) -> str | None:
    """Container family from the first bytes of a file, or ``None`` if it is none we accept."""
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"RF64"):
        return "wav"
    if head[:4] in (b"RF64", b"BW64"):
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:3] == b"ID3":
        return "mp3"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mp4"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0:
        return "aac"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return "mp3"
    return None


@dataclass(frozen=True)
class ProbeResult:
    """What the probe found: container, first audio stream and its declared duration."""

    container: str
    format_name: str
    codec: str
    channels: int
    sample_rate: int
    duration_s: float | None
    bit_rate: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def open_audio(source: str | BinaryIO, family: str = "audio") -> tuple[Any, Any]:
    """An open PyAV container and its first audio stream (the caller closes the container).

    Raises ``corrupt_audio`` when the container will not open, ``no_audio_stream`` without audio.
    """
    try:
        container = av.open(source, mode="r", metadata_errors="ignore")
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise PermanentError(ErrorCode.CORRUPT_AUDIO, f"the {family} container cannot be opened: {exc}") from exc
    if not container.streams.audio:
        container.close()
        raise PermanentError(ErrorCode.NO_AUDIO_STREAM, "the file has no audio stream")
    return container, container.streams.audio[0]


def stream_channels(stream: Any) -> int:
    ctx = stream.codec_context
    return int(ctx.layout.nb_channels if ctx.layout else ctx.channels)


def declared_duration(container: Any, stream: Any) -> float | None:
    """Duration the file's headers claim (may be absent, or a lie), in seconds."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration / av.time_base)
    return None


def probe_stream(stream_file: BinaryIO, max_duration_s: float) -> ProbeResult:
    """Probe a seekable binary file: sniff, open, describe and decode the first second.

    Raises ``PermanentError`` with ``unsupported_format``, ``corrupt_audio``, ``no_audio_stream``,
    ``empty_audio`` or ``too_long``.
    """
    head = stream_file.read(SNIFF_BYTES)
    family = sniff_container(head)
    if not head:
        raise PermanentError(ErrorCode.EMPTY_AUDIO, "the file is empty")
    if family is None:
        raise PermanentError(ErrorCode.UNSUPPORTED_FORMAT, "the file is not an audio or video container")
    stream_file.seek(0)
    container, stream = open_audio(stream_file, family)
    with container:
        ctx = stream.codec_context
        result = ProbeResult(
            container=family,
            format_name=container.format.name,
            codec=ctx.name,
            channels=stream_channels(stream),
            sample_rate=int(ctx.sample_rate or 0),
            duration_s=declared_duration(container, stream),
            bit_rate=int(container.bit_rate) if container.bit_rate else None,
        )
        if result.sample_rate <= 0 or result.channels <= 0:
            raise PermanentError(ErrorCode.CORRUPT_AUDIO, "the audio stream declares no sample rate or channels")
        if result.duration_s is not None and result.duration_s > max_duration_s:
            raise PermanentError(
                ErrorCode.TOO_LONG,
                f"the audio lasts {result.duration_s:.0f} s, more than the limit of {max_duration_s:.0f} s",
            )
        decoded = _decode_head(container, stream)
    if decoded == 0:
        raise no_samples_error(result.duration_s)
    return result


def no_samples_error(declared_s: float | None) -> PermanentError:
    """Nothing decoded: ``corrupt_audio`` if the headers promised audio, else ``empty_audio``."""
    if declared_s:
        return PermanentError(ErrorCode.CORRUPT_AUDIO, f"headers declare {declared_s:.1f} s but no audio decodes")
    return PermanentError(ErrorCode.EMPTY_AUDIO, "the audio stream holds no samples")


def _decode_head(container: Any, stream: Any) -> int:
    """Decode up to ``DECODE_CHECK_S`` of audio; the number of samples decoded."""
    samples = 0
    limit = int(DECODE_CHECK_S * (stream.codec_context.sample_rate or 16000))
    try:
        for frame in container.decode(stream):
            samples += frame.samples
            if samples >= limit:
                break
    except (av.FFmpegError, ValueError) as exc:
        raise PermanentError(ErrorCode.CORRUPT_AUDIO, f"the audio cannot be decoded: {exc}") from exc
    return samples
