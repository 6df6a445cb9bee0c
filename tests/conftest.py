"""Shared fixtures: the repository root on sys.path and generated audio fixtures."""

from __future__ import annotations

import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SAMPLE = REPO / "samples" / "meeting.flac"
SAMPLE_TEXT = (REPO / "samples" / "meeting.txt").read_text().strip()


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """16-bit PCM WAV of float samples shaped (n,) or (n, channels)."""
    data = samples if samples.ndim == 2 else samples[:, None]
    pcm = (np.clip(data, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(data.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def ffmpeg(*args: str) -> None:
    if not shutil.which("ffmpeg"):
        pytest.fail("ffmpeg is missing: run `make test` (scripts/install-system.sh installs it)")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample in every accepted container plus bad inputs, made once per session."""
    out = tmp_path_factory.mktemp("audio")
    ffmpeg("-i", str(SAMPLE), str(out / "speech.wav"))
    for ext, codec in (("mp3", "libmp3lame"), ("m4a", "aac"), ("ogg", "libvorbis"), ("opus", "libopus"), ("webm", "libopus")):
        ffmpeg("-i", str(SAMPLE), "-c:a", codec, str(out / f"speech.{ext}"))
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=64x64:d=1", "-c:v", "mpeg4", str(out / "video_only.mp4"))
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=64x64:d=10", "-i", str(SAMPLE), "-shortest", "-c:v", "mpeg4", "-c:a", "aac", str(out / "with_video.mp4"))
    ffmpeg("-i", str(SAMPLE), "-t", "2.6", str(out / "first_sentence.flac"))
    ffmpeg("-i", str(SAMPLE), "-ss", "2.6", str(out / "second_sentence.flac"))
    (out / "empty.wav").write_bytes(b"")
    (out / "text.wav").write_text("this is not audio, it is a text file named like one\n" * 20)
    (out / "page.mp3").write_text("<!doctype html><html><body>not audio</body></html>")
    flac = SAMPLE.read_bytes()
    (out / "corrupt.flac").write_bytes(flac[:42] + bytes(np.random.default_rng(7).integers(0, 256, 4000, dtype=np.uint8)))
    (out / "header_only.flac").write_bytes(flac[:8])
    return out
