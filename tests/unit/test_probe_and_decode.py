"""Probing and decoding real files in every accepted container, and the bad inputs."""

import io

import numpy as np
import pytest

from mixscribe.audio import decode_audio
from mixscribe.errors import ErrorCode, PermanentError
from mixscribe.probe import probe_stream, sniff_container
from tests.conftest import SAMPLE

GOOD = {
    "speech.wav": ("wav", "pcm_s16le"),
    "speech.mp3": ("mp3", "mp3float"),
    "speech.m4a": ("mp4", "aac"),
    "speech.ogg": ("ogg", "vorbis"),
    "speech.opus": ("ogg", "opus"),
    "speech.webm": ("matroska", "opus"),
    "with_video.mp4": ("mp4", "aac"),
}


def probe(path, max_duration_s=3600):
    with open(path, "rb") as f:
        return probe_stream(f, max_duration_s)


def test_flac_sample():
    result = probe(SAMPLE)
    assert (result.container, result.codec, result.channels, result.sample_rate) == ("flac", "flac", 1, 16000)
    assert result.duration_s == pytest.approx(8.4, abs=0.05)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_every_accepted_container(audio_dir, name):
    result = probe(audio_dir / name)
    assert (result.container, result.codec) == GOOD[name]
    assert result.duration_s == pytest.approx(8.4, abs=0.2)
    decoded = decode_audio(str(audio_dir / name), 3600)
    assert decoded.duration_s == pytest.approx(8.4, abs=0.2)
    assert -30 < decoded.levels.integrated_lufs < -10


@pytest.mark.parametrize(
    "name,code",
    [
        ("empty.wav", ErrorCode.EMPTY_AUDIO),
        ("text.wav", ErrorCode.UNSUPPORTED_FORMAT),
        ("page.mp3", ErrorCode.UNSUPPORTED_FORMAT),
        ("corrupt.flac", ErrorCode.CORRUPT_AUDIO),
        ("header_only.flac", ErrorCode.CORRUPT_AUDIO),
        ("video_only.mp4", ErrorCode.NO_AUDIO_STREAM),
    ],
)
def test_bad_inputs_have_stable_codes(audio_dir, name, code):
    with pytest.raises(PermanentError) as info:
        probe(audio_dir / name)
    assert info.value.code is code


def test_too_long_by_header_and_by_decoding(audio_dir):
    with pytest.raises(PermanentError) as info:
        probe(audio_dir / "speech.wav", max_duration_s=5)
    assert info.value.code is ErrorCode.TOO_LONG
    with pytest.raises(PermanentError) as info:
        decode_audio(str(audio_dir / "speech.wav"), max_duration_s=5)
    assert info.value.code is ErrorCode.TOO_LONG


@pytest.mark.parametrize(
    "head,family",
    [
        (b"RIFF\0\0\0\0WAVEfmt ", "wav"),
        (b"fLaC", "flac"),
        (b"ID3\x04", "mp3"),
        (b"OggS", "ogg"),
        (b"\x1a\x45\xdf\xa3", "matroska"),
        (b"\0\0\0\x20ftypisom", "mp4"),
        (b"\xff\xf1", "aac"),
        (b"\xff\xfb", "mp3"),
        (b"PK\x03\x04", None),
        (b"%PDF-1.7", None),
        (b"<html>", None),
    ],
)
def test_sniff(head, family):
    assert sniff_container(head) == family


def test_probe_reads_through_a_seekable_stream():
    assert probe_stream(io.BytesIO(SAMPLE.read_bytes()), 60).codec == "flac"


@pytest.mark.parametrize(
    "codec,ext,channels",
    [("libopus", "opus", 8), ("libopus", "opus", 9), ("libvorbis", "ogg", 12), ("pcm_s16le", "wav", 9), ("flac", "flac", 8)],
)
def test_wide_audio_decodes_every_channel(tmp_path, codec, ext, channels):
    """8 channels and more, planar (Opus, Vorbis) or packed, with named channels or none ("9 channels",
    which FFmpeg cannot downmix): the speech in every channel decodes to the same mono signal as one
    channel alone, each channel apart when asked, and the meter reads every channel."""
    from tests.conftest import ffmpeg

    labels = "".join(f"[c{i}]" for i in range(channels))
    wide = tmp_path / f"wide.{ext}"
    family = ["-mapping_family", "255"] if codec == "libopus" else []
    merge = f"[0]asplit={channels}{labels};{labels}amerge=inputs={channels}"
    ffmpeg("-i", str(SAMPLE), "-filter_complex", merge, "-c:a", codec, *family, str(wide))
    mono = decode_audio(str(SAMPLE), 3600)
    decoded = decode_audio(str(wide), 3600, split_channels=True)
    assert decoded.channels == channels
    assert decoded.duration_s == pytest.approx(mono.duration_s, abs=0.1)
    n = min(decoded.samples.shape[0], mono.samples.shape[0]) - 1600
    window = mono.samples[16000:24000]
    lag = max(range(-400, 401), key=lambda k: abs(float(decoded.samples[16000 + k : 24000 + k] @ window)))
    lag = max(lag, 0)  # a lossy encoder's delay, if it left one
    lossy = codec in ("libopus", "libvorbis")
    # FFmpeg downmixes named layouts with its own gains (as faster-whisper's decoder does), channels
    # with no names are averaged: the same speech either way, up to a gain
    reference, mixed = mono.samples[:n], decoded.samples[lag : lag + n]
    gain = float(mixed @ reference / (reference @ reference))
    error = float(np.sqrt(np.mean((mixed - gain * reference) ** 2)))
    rms = float(np.sqrt(np.mean((gain * reference) ** 2)))
    assert 0.9 < gain < 6
    assert error < (0.3 if lossy else 0.001) * rms, f"the mono mix drifts from the speech: {error:.4f} against {rms:.4f}"
    assert decoded.channel_samples is not None and decoded.channel_samples.shape[0] == channels
    assert np.allclose(decoded.channel_samples[:, :n], decoded.channel_samples[0, :n], atol=0.05 if lossy else 1e-4)
    assert decoded.levels.integrated_lufs > mono.levels.integrated_lufs + 5  # every channel's energy counted
