"""The streaming meter against pyloudnorm and scipy (test-only references) on the same signals, fed in odd-sized chunks."""

import numpy as np
import pyloudnorm
import pytest

from mixscribe.levels import KWeighting, LevelMeter, true_peak_taps


@pytest.mark.parametrize(
    "rate,channels,seconds", [(16000, 1, 8.4), (48000, 2, 3.3), (44100, 2, 1.05), (22050, 1, 0.7), (44100, 4, 2.2)]
)
def test_integrated_loudness_equals_pyloudnorm(rate, channels, seconds):
    rng = np.random.default_rng(rate)
    x = rng.standard_normal((int(rate * seconds), channels)) * 0.1
    x[: rate // 3] *= 0.001  # a quiet start exercises both gates
    meter = LevelMeter(rate, channels)
    for start in range(0, len(x), 3001):
        meter.feed(x[start : start + 3001])
    expected = pyloudnorm.Meter(rate).integrated_loudness(x)
    assert meter.report().integrated_lufs == pytest.approx(expected, abs=0.01)


def test_peaks_rms_and_clipping():
    rate = 48000
    t = np.arange(rate) / rate
    x = np.clip(1.2 * np.sin(2 * np.pi * 997 * t), -1, 1)[:, None]
    meter = LevelMeter(rate, 1)
    meter.feed(x)
    report = meter.report()
    assert report.sample_peak_dbfs == pytest.approx(0.0, abs=0.01)
    assert report.true_peak_dbtp >= report.sample_peak_dbfs
    assert 0.2 < report.clipping_ratio < 0.5
    assert -3.0 < report.rms_dbfs < 0.0


def test_silence_and_short_signals_have_no_loudness():
    meter = LevelMeter(16000, 1)
    meter.feed(np.zeros((16000, 1)))
    assert meter.report().integrated_lufs is None and meter.report().sample_peak_dbfs is None
    short = LevelMeter(16000, 1)
    short.feed(np.full((1000, 1), 0.5))
    assert short.report().integrated_lufs is None


def test_windowed_true_peak_matches_full_oversampling():
    from scipy import signal

    rng = np.random.default_rng(3)
    rate = 48000
    t = np.arange(3 * rate) / rate
    # A quarter-rate sine at 45° puts every sample at 0.707 of the crest: a 3 dB inter-sample peak.
    x = 0.5 * np.sin(2 * np.pi * 12000 * t + np.pi / 4) * (1 + 0.2 * np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(
        t.shape
    )
    x = x[:, None]
    meter = LevelMeter(rate, 1)
    for start in range(0, len(x), 960):  # 20 ms frames, like Opus
        meter.feed(x[start : start + 960])
    full = 20 * np.log10(np.abs(signal.resample_poly(x[:, 0], 4, 1)).max())
    assert meter.report().true_peak_dbtp == pytest.approx(full, abs=0.1)
    assert meter.report().true_peak_dbtp > meter.report().sample_peak_dbfs + 2.5  # the inter-sample peak was found


@pytest.mark.parametrize("rate,channels", [(16000, 1), (48000, 2), (8000, 3), (16000, 8), (16000, 9), (8000, 16)])
def test_k_weighting_is_pyloudnorms_filters_block_after_block(rate, channels):
    """FFmpeg's shelf and high-pass with the meter's constants are pyloudnorm's biquads (run here with
    scipy's lfilter over the whole signal), their state carried across blocks of any size, every
    channel weighted however many there are (FFmpeg passes channels a layout does not name)."""
    from scipy import signal

    x = np.random.default_rng(channels).standard_normal((rate * 2 + 17, channels)) * 0.2
    expected = x.copy()
    for stage in pyloudnorm.Meter(rate)._filters.values():
        expected = signal.lfilter(stage.b, stage.a, expected, axis=0) * stage.passband_gain
    weigh = KWeighting(rate, channels)
    cuts = [0, 1, 999, rate, rate + 5000, x.shape[0]]
    weighted = np.concatenate([weigh(x[a:b]) for a, b in zip(cuts, cuts[1:])])
    assert weighted.shape == x.shape
    assert np.abs(weighted - expected).max() < 1e-9


def test_true_peak_filter_is_resample_polys():
    from scipy import signal

    expected = signal.firwin(81, 1.0 / 4, window=("kaiser", 5.0)) * 4
    assert np.allclose(true_peak_taps(), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("channels", [8, 9, 12])
def test_wide_audio_is_metered_like_its_channels_apart(channels):
    """8 channels and more (a mixer's inputs, a WAV with no layout) meter every channel: loudness adds
    the channels' energies (surround channels 4 and 5 weighted 1.41), so equal channels read
    10·log10(sum of the gains) louder than one of them."""
    x = np.random.default_rng(channels).standard_normal((16000 * 2, 1)) * 0.1
    one = LevelMeter(16000, 1)
    one.feed(x)
    wide = LevelMeter(16000, channels)
    for start in range(0, len(x), 4000):
        wide.feed(np.repeat(x[start : start + 4000], channels, axis=1))
    gains = channels - 2 + 2 * 1.41
    assert wide.report().integrated_lufs == pytest.approx(one.report().integrated_lufs + 10 * np.log10(gains), abs=0.01)
    assert wide.report().true_peak_dbtp == pytest.approx(one.report().true_peak_dbtp, abs=1e-6)
