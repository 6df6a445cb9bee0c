"""The voice encoder's input: power mel frames (40 channels, 25 ms windows every 10 ms at 16 kHz).

Resemblyzer computes them with librosa (Slaney mel scale and area normalisation, a periodic Hann
window, frames centred with zero padding); this is the same computation in NumPy, so the job needs
no librosa. The encoder was trained on audio normalised to -30 dBFS (raised, never lowered).
"""

from __future__ import annotations

import functools

import numpy as np

RATE = 16000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms: 100 frames per second
N_MELS = 40
TARGET_DBFS = -30.0


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    mel = hz / (200.0 / 3)
    log = hz >= 1000.0
    mel[log] = 15.0 + np.log(hz[log] / 1000.0) / (np.log(6.4) / 27.0)
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    hz = mel * (200.0 / 3)
    log = mel >= 15.0
    hz[log] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel[log] - 15.0))
    return hz


@functools.cache
def mel_filters(rate: int = RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Triangular Slaney-scale filters, each normalised to unit area: ``[n_mels, n_fft // 2 + 1]``."""
    bins = np.linspace(0.0, rate / 2, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([rate / 2]))[0], n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    rising, falling = -ramps[:-2] / widths[:-1, None], ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    normalised: np.ndarray = weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return normalised.astype(np.float32)


def normalize_volume(samples: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """``samples`` raised to ``target_dbfs`` RMS when quieter (louder audio is left as it is)."""
    power = float(np.mean(np.square(samples, dtype=np.float64))) if samples.size else 0.0
    if power <= 0.0:
        return samples
    gain_db = target_dbfs - 10.0 * np.log10(power)
    return samples * np.float32(10.0 ** (gain_db / 20.0)) if gain_db > 0 else samples


def mel_frames(samples: np.ndarray) -> np.ndarray:
    """Power mel frames of 16 kHz mono ``samples``: ``[1 + len // HOP, N_MELS]`` float32."""
    padded = np.pad(samples.astype(np.float32, copy=False), N_FFT // 2)
    if padded.shape[0] < N_FFT:
        padded = np.pad(padded, (0, N_FFT - padded.shape[0]))
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    mel: np.ndarray = power.astype(np.float32) @ mel_filters().T
    return mel.astype(np.float32)
