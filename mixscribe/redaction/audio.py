"""The audio with each finding's words silenced or bleeped: same container, codec, rate, channels and
length as the source (Vorbis other than stereo is written as Opus in its Ogg container: FFmpeg's own
Vorbis encoder, the one PyAV's build has, writes stereo only).

PyAV (FFmpeg's libraries, already in the job for decoding) decodes every frame, the samples inside the
findings' spans (word timestamps, widened by a margin) are replaced, and each frame is encoded again
with the source's codec. Lossless sources (WAV, FLAC) stay sample-identical outside the spans; lossy
ones (Opus, MP3, AAC) are re-encoded once, so their other samples change as any re-encode changes them.
pydub was the design's first choice; it shells out to ffmpeg and ffprobe executables the image does
not carry, where PyAV does the same in-process.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

import av
import numpy as np

from ..audio import PLANAR_MAX_CHANNELS
from ..probe import stream_channels
from .apply import Redaction

TONE_HZ = 1000.0
TONE_LEVEL = 0.25  # of full scale (-12 dBFS)
MUXERS = {  # upload extension → FFmpeg muxer; a video's redacted audio is written without its picture
    "wav": "wav", "flac": "flac", "mp3": "mp3", "aac": "adts", "m4a": "ipod", "ogg": "ogg", "oga": "ogg",
    "opus": "ogg", "webm": "webm", "mp4": "mp4", "mov": "mov",
}  # fmt: skip
ENCODERS = {"mp3float": "mp3", "aac_fixed": "aac"}  # decoder name → encoder name where they differ
LOSSLESS = ("flac", "alac", "wavpack")
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


@dataclass(frozen=True)
class Span:
    start_s: float
    end_s: float


def spans_of(redactions: Iterable[Redaction], margin_s: float, duration_s: float) -> list[Span]:
    """The findings' times widened by ``margin_s``, clipped to the audio and merged where they touch."""
    spans: list[Span] = []
    for r in sorted(redactions, key=lambda r: r.start):
        start, end = max(0.0, r.start - margin_s), min(duration_s, r.end + margin_s)
        if spans and start <= spans[-1].end_s:
            spans[-1] = Span(spans[-1].start_s, max(spans[-1].end_s, end))
        else:
            spans.append(Span(start, end))
    return spans


def _replacement(first: int, count: int, rate: int, fill: str) -> np.ndarray:
    """``count`` samples of ``fill`` from sample ``first`` on, as floats in [-1, 1]."""
    if fill == "silence":
        return np.zeros(count)
    return TONE_LEVEL * np.sin(2 * np.pi * TONE_HZ * (np.arange(count) + first) / rate)


def _as_samples(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Floats in [-1, 1] in the frame's sample type (integers full scale, unsigned centred)."""
    if np.issubdtype(dtype, np.floating):
        return values.astype(dtype)
    info = np.iinfo(dtype)
    centre = (int(info.max) + 1) // 2 if np.issubdtype(dtype, np.unsignedinteger) else 0
    scale = int(info.max) - centre
    return np.round(values * scale + centre).astype(dtype)


def _fill_frame(samples: np.ndarray, planar: bool, channels: int, first: int, rate: int, spans: list[Span], fill: str) -> None:
    """Replace, in place, the samples of one decoded frame (``first``: its first sample's index)."""
    grid = samples if planar else samples.reshape(-1, channels).T  # channels × samples, a view
    count = grid.shape[1]
    for span in spans:
        a = max(0, round(span.start_s * rate) - first)
        b = min(count, round(span.end_s * rate) - first)
        if a < b:
            grid[:, a:b] = _as_samples(_replacement(first + a, b - a, rate, fill), samples.dtype)[None, :]


def _encoder(decoder: str, channels: int, rate: int) -> tuple[av.Codec, int]:
    """The encoder for audio ``decoder`` decoded, and its rate. FFmpeg's own Vorbis encoder (PyAV's
    build has no libvorbis) writes stereo only: other Vorbis audio is written as Opus, in the same Ogg
    container, at 48 kHz unless its rate is one Opus takes."""
    name = ENCODERS.get(decoder, decoder)
    if name == "vorbis" and channels != 2:
        return av.Codec("libopus", "w"), rate if rate in OPUS_RATES else OPUS_RATES[-1]
    return av.Codec(name, "w"), rate


def _encoder_format(codec: av.Codec, source: av.AudioFormat) -> av.AudioFormat:
    """The source's sample format where the encoder takes it, else its packed or planar twin (libopus
    takes ``flt`` where the decoder gives ``fltp``), else the encoder's first."""
    formats = codec.audio_formats or ()
    names = [f.name for f in formats]
    for candidate in (source.name, source.packed.name, source.planar.name):
        if candidate in names:
            return formats[names.index(candidate)]
    return formats[0] if formats else source


def _encoder_options(codec: av.Codec, channels: int) -> dict[str, str]:
    """What an encoder needs beyond the defaults: FFmpeg's own Vorbis encoder (the one PyAV's build
    has) is marked experimental; Opus beyond stereo needs a channel mapping (Vorbis order up to 8
    channels, independent streams beyond)."""
    if codec.name == "vorbis":
        return {"strict": "experimental"}
    if codec.name == "libopus" and channels > 2:
        return {"mapping_family": "1" if channels <= 8 else "255"}
    return {}


def redact_audio(data: bytes, extension: str, redactions: list[Redaction], margin_s: float, fill: str) -> bytes:
    """``data`` (an audio file named ``*.extension``) with the findings' spans replaced by ``fill``."""
    muxer = MUXERS.get(extension.lower().lstrip("."))
    if muxer is None:
        raise ValueError(f"no redacted audio for .{extension} files (supported: {', '.join(sorted(MUXERS))})")
    out = io.BytesIO()
    source: av.container.InputContainer = av.open(io.BytesIO(data), "r")
    target: av.container.OutputContainer = av.open(out, "w", format=muxer)
    with source, target:
        stream = source.streams.audio[0]
        context = stream.codec_context
        length = stream.duration * stream.time_base if stream.duration and stream.time_base else 0
        duration_s = float(length) or float(source.duration or 0) / 1e6
        spans = spans_of(redactions, margin_s, duration_s or float("inf"))
        channels = stream_channels(stream)
        codec, rate = _encoder(context.name, channels, context.sample_rate)
        encoder: av.AudioStream = target.add_stream(codec.name, rate=rate, options=_encoder_options(codec, channels))  # type: ignore[assignment,unused-ignore]
        encoder.codec_context.layout = context.layout
        encoder.codec_context.format = _encoder_format(codec, context.format)
        bit_rate = context.bit_rate or source.bit_rate or (round(8 * len(data) / duration_s) if duration_s else 0)
        if bit_rate and context.name not in LOSSLESS:
            encoder.codec_context.bit_rate = bit_rate
        target.metadata.update(source.metadata)
        position = 0
        # frames too wide to read planar are edited packed; the encoder converts back to its format
        to_packed = (
            av.AudioResampler(format=context.format.packed, layout=context.layout, rate=context.sample_rate)
            if context.format.is_planar and channels > PLANAR_MAX_CHANNELS
            else None
        )
        for decoded in source.decode(stream):
            for frame in to_packed.resample(decoded) if to_packed else [decoded]:
                samples = frame.to_ndarray()
                _fill_frame(samples, frame.format.is_planar, channels, position, frame.sample_rate, spans, fill)
                edited = av.AudioFrame.from_ndarray(samples, format=frame.format.name, layout=frame.layout)
                edited.sample_rate = frame.sample_rate
                position += frame.samples
                for packet in encoder.encode(edited):
                    target.mux(packet)
        for packet in encoder.encode(None):
            target.mux(packet)
    return out.getvalue()
