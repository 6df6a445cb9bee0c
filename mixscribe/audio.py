"""Streaming decode of an audio file into what the model needs plus its level metrics.

One pass over the file: frames are resampled to 16 kHz mono float32 for Whisper and, at the
source rate (capped at 48 kHz), fed to the level meter. Only the 16 kHz mono signal is kept
(64 KB per second of audio, about 230 MB an hour); the encoded file is never read whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

from .errors import ErrorCode, PermanentError
from .levels import LevelMeter, LevelReport
from .probe import declared_duration, no_samples_error, open_audio, stream_channels

MODEL_RATE = 16000
METER_MAX_RATE = 48000


@dataclass(frozen=True)
class DecodedAudio:
    """16 kHz mono samples for the model plus the source's shape and levels."""

    samples: np.ndarray
    duration_s: float
    source_rate: int
    channels: int
    levels: LevelReport
    channel_samples: np.ndarray | None = None  # (channels, n) at 16 kHz when asked for: per-speaker inputs


class _Samples:
    """A float32 buffer filled in place (grown by half when full): no list of parts to concatenate,
    so decoding an hour peaks near its 230 MB instead of twice that."""

    def __init__(self, expected: int) -> None:
        self._data = np.empty(max(expected, MODEL_RATE), dtype=np.float32)
        self.size = 0

    def append(self, part: np.ndarray) -> None:
        end = self.size + part.shape[0]
        if end > self._data.shape[0]:
            grown = np.empty(max(end, int(self._data.shape[0] * 1.5)), dtype=np.float32)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : end] = part
        self.size = end

    def array(self) -> np.ndarray:
        return self._data[: self.size]


# PyAV 18 counts a planar frame's planes past its last channel from 8 channels on: reading such a
# frame's samples crashes the process. Frames that wide are only read packed (through a resampler).
PLANAR_MAX_CHANNELS = 7


def _float_samples(frame: av.AudioFrame, channels: int) -> np.ndarray | None:
    """A float frame's samples shaped (samples, channels), or ``None`` for other sample formats
    (and planar frames too wide to read safely)."""
    if frame.format.name in ("flt", "dbl"):
        return frame.to_ndarray().reshape(-1, channels)
    if frame.format.name in ("fltp", "dblp") and channels <= PLANAR_MAX_CHANNELS:
        return frame.to_ndarray().T
    return None


def _names_channels(layout: av.AudioLayout | None) -> bool:
    """Whether ``layout`` names its channels: FFmpeg cannot downmix audio whose channels it cannot
    place ("9 channels", unspecified order), so such audio is mixed to mono here, channels averaged."""
    return layout is None or all(channel.name != "NONE" for channel in layout.channels)


def _mono(frame: av.AudioFrame, channels: int) -> np.ndarray:
    """A packed float frame as one channel: itself when mono, else its channels' mean."""
    data = frame.to_ndarray().reshape(-1, channels)
    return data[:, 0] if channels == 1 else data.mean(axis=1, dtype=np.float32)


def decode_audio(path: str, max_duration_s: float, split_channels: bool = False) -> DecodedAudio:
    """Decode ``path`` (any container PyAV reads) in one streaming pass.

    Raises ``PermanentError``: ``corrupt_audio`` when decoding fails, ``no_audio_stream``,
    ``empty_audio`` when nothing decodes and ``too_long`` as soon as the decoded audio passes
    ``max_duration_s`` (a header may lie about the duration; the decoder does not).
    ``split_channels`` also keeps each channel at 16 kHz (a mixer's inputs, one speaker each).
    """
    container, stream = open_audio(path)
    with container:
        declared_s = declared_duration(container, stream)
        channels = stream_channels(stream)
        source_rate = int(stream.codec_context.sample_rate)
        meter_rate = min(source_rate, METER_MAX_RATE)
        layout = stream.codec_context.layout.name if stream.codec_context.layout else "mono"
        mix_here = not _names_channels(stream.codec_context.layout)
        to_model = av.AudioResampler(format="flt", layout=layout if mix_here else "mono", rate=MODEL_RATE)
        to_meter = av.AudioResampler(format="flt", layout=layout, rate=meter_rate)
        meter = LevelMeter(meter_rate, channels)
        per_channel = av.AudioResampler(format="flt", layout=layout, rate=MODEL_RATE) if split_channels else None
        channel_parts: list[np.ndarray] = []
        # sized from the header (capped: a header may lie), grown if the audio runs longer
        parts = _Samples(int(min(declared_s or 0, max_duration_s) * MODEL_RATE * 1.01) + MODEL_RATE)
        max_samples = int(max_duration_s * MODEL_RATE)
        try:
            for frame in container.decode(stream):
                frame.pts = None  # let the resamplers count time, robust to broken timestamps
                for out in to_model.resample(frame):
                    parts.append(_mono(out, channels if mix_here else 1))
                if per_channel is not None:
                    channel_parts += [out.to_ndarray().reshape(-1, channels).T for out in per_channel.resample(frame)]
                direct = _float_samples(frame, channels) if meter_rate == source_rate else None
                if direct is not None:
                    meter.feed(direct)  # already float at the meter's rate: no second resampling
                else:
                    for out in to_meter.resample(frame):
                        meter.feed(out.to_ndarray().reshape(-1, channels))
                if parts.size > max_samples:
                    raise PermanentError(ErrorCode.TOO_LONG, f"the audio lasts more than the limit of {max_duration_s:.0f} s")
            for out in to_model.resample(None):
                parts.append(_mono(out, channels if mix_here else 1))
            for out in to_meter.resample(None):
                meter.feed(out.to_ndarray().reshape(-1, channels))
            if per_channel is not None:
                channel_parts += [out.to_ndarray().reshape(-1, channels).T for out in per_channel.resample(None)]
        except (av.FFmpegError, ValueError) as exc:
            raise PermanentError(ErrorCode.CORRUPT_AUDIO, f"the audio cannot be decoded: {exc}") from exc
    samples = parts.array()
    if samples.shape[0] == 0:
        raise no_samples_error(declared_s)
    return DecodedAudio(
        samples=samples,
        duration_s=samples.shape[0] / MODEL_RATE,
        source_rate=source_rate,
        channels=channels,
        levels=meter.report(),
        channel_samples=np.concatenate(channel_parts, axis=1).astype(np.float32, copy=False) if channel_parts else None,
    )
