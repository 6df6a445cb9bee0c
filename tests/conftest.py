"""Shared fixtures: the repository root on sys.path and generated audio fixtures."""

from __future__ import annotations

import os
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

# the models `make install` baked from the local registry (scripts/bake_models.py), as an image holds them in /models
os.environ.setdefault("MIXSCRIBE_MODEL_ROOT", str(REPO / ".models"))

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
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "color=c=black:s=64x64:d=10",
        "-i",
        str(SAMPLE),
        "-shortest",
        "-c:v",
        "mpeg4",
        "-c:a",
        "aac",
        str(out / "with_video.mp4"),
    )
    ffmpeg("-i", str(SAMPLE), "-t", "2.6", str(out / "first_sentence.flac"))
    ffmpeg("-i", str(SAMPLE), "-ss", "2.6", str(out / "second_sentence.flac"))
    (out / "empty.wav").write_bytes(b"")
    (out / "text.wav").write_text("this is not audio, it is a text file named like one\n" * 20)
    (out / "page.mp3").write_text("<!doctype html><html><body>not audio</body></html>")
    flac = SAMPLE.read_bytes()
    (out / "corrupt.flac").write_bytes(flac[:42] + bytes(np.random.default_rng(7).integers(0, 256, 4000, dtype=np.uint8)))
    (out / "header_only.flac").write_bytes(flac[:8])
    two_voices(out / "two_voices.wav")
    return out


def decode_mono(path: Path, rate: int, seconds: float | None = None) -> np.ndarray:
    """``path`` as float32 mono at ``rate`` (ffmpeg)."""
    limit = ["-t", str(seconds)] if seconds else []
    raw = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(path), *limit, "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4").copy()


def standup_times(path: Path, times: int, rate: int = 16000) -> float:
    """The stand-up recording ``times`` over, mono 16-bit at ``rate`` (WAV or FLAC by ``path``'s suffix),
    for a file long enough to take several seconds to transcribe on a fast machine; its length in seconds."""
    import soundfile

    samples = np.tile(decode_mono(REPO / "samples" / "standup.opus", rate), times)
    soundfile.write(str(path), samples, rate, subtype="PCM_16")
    return samples.shape[0] / rate


def two_voices(path: Path, rate: int = 48000) -> Path:
    """A 48 kHz/24-bit stereo recording of two people, one per microphone (like an AG06's inputs 1
    and 2): the host (meeting sample) on the left, then the guest (stand-up sample) on the right;
    the host also leaks into the guest's microphone at -24 dB (bleed), as real rooms do."""
    import soundfile

    host = decode_mono(SAMPLE, rate)
    guest = decode_mono(REPO / "samples" / "standup.opus", rate, seconds=6.3)
    gap = int(0.5 * rate)
    total = host.shape[0] + gap + guest.shape[0] + gap
    left, right = np.zeros(total, np.float32), np.zeros(total, np.float32)
    left[: host.shape[0]] = host
    right[host.shape[0] + gap : host.shape[0] + gap + guest.shape[0]] = guest
    right[: host.shape[0]] += 0.063 * host
    noise = np.random.default_rng(3).normal(0, 1e-4, (total, 2)).astype(np.float32)
    soundfile.write(str(path), np.stack([left, right], axis=1) + noise, rate, subtype="PCM_24")
    return path


@pytest.fixture(scope="session")
def bigquery_api(tmp_path_factory: pytest.TempPathFactory):
    """A BigQuery emulator (bqemulator, local_emulators/bigquery_emulator.py) for the session: the
    environment pointing google-cloud-bigquery and the Storage Write client at it."""
    from local_emulators.bigquery_emulator import running

    with running(tmp_path_factory.mktemp("bigquery")) as env:
        yield env


def bigquery_for(env: dict[str, str], project: str):
    """A BigQuery client of ``project`` on the emulator of ``env``, its warehouse created (mixscribe.warehouse)."""
    from local_emulators.bigquery_emulator import warehouse_client

    return warehouse_client(env, project)
