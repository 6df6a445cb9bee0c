"""Streaming audio level metrics: integrated loudness (ITU-R BS.1770-4), true peak, RMS, clipping.

The meter is fed chunks of any size and keeps only per-100 ms energy sums, so an hour of audio
costs kilobytes. Its K-weighting is FFmpeg's own ``highshelf`` and ``highpass`` filters (through
PyAV, in double precision, direct form I) with the constants pyloudnorm's BS.1770 meter uses:
``integrated_lufs`` equals ``pyloudnorm.Meter.integrated_loudness`` on the same signal (a unit test
holds it to that). The true peak oversamples 4× with a Kaiser-windowed sinc FIR built in numpy.

Neither scipy nor pyloudnorm is imported: scipy.signal alone took 0.9–1.6 s to import, on every
cold start of a transcription task, and PyAV is already loaded to decode.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import av
import numpy as np

BLOCK_S = 0.400
HOP_S = 0.100  # 75 % overlap of 400 ms gating blocks
ABSOLUTE_GATE_LUFS = -70.0
CHANNEL_GAINS = (1.0, 1.0, 1.0, 1.41, 1.41)
CLIP_LEVEL = 0.999
TRUE_PEAK_UPSAMPLE = 4
TRUE_PEAK_TAPS = 81  # the interpolation filter of resample_poly(x, 4, 1): 10 taps per phase each side
TRUE_PEAK_KAISER_BETA = 5.0
# K-weighting (pyloudnorm's "K-weighting" filter class): a +4 dB shelf above 1.5 kHz, then a 38 Hz high-pass
K_WEIGHTING = (
    ("highshelf", "f=1500:g=4:t=q:w=0.7071067811865476"),
    ("highpass", "f=38:t=q:w=0.5:p=2"),
)
# Inter-sample peaks of real audio stay within about 3 dB of the sample peak and sit next to the
# largest samples: a block is oversampled only around its largest samples, and not at all when its
# sample peak is that far below the true peak found so far.
TRUE_PEAK_MARGIN = 10 ** (3.0 / 20)
TRUE_PEAK_CANDIDATES = 32
TRUE_PEAK_HALF_WINDOW = 24
BLOCK_SAMPLES_S = 1.0  # small frames (20 ms Opus) are gathered into blocks this long before filtering


def _db(value: float) -> float | None:
    return round(20.0 * math.log10(value), 2) if value > 0 else None


@dataclass(frozen=True)
class LevelReport:
    """Levels of a whole signal; ``None`` where a level is undefined (silence, too short)."""

    integrated_lufs: float | None
    true_peak_dbtp: float | None
    sample_peak_dbfs: float | None
    rms_dbfs: float | None
    clipping_ratio: float
    clipped_samples: int


@functools.cache
def true_peak_taps() -> np.ndarray:
    """The 4× interpolation filter: a windowed-sinc low-pass at the original Nyquist (cutoff 1/4 of
    the new rate), Kaiser β 5, unit gain at DC, times 4 for the zeros stuffed between samples."""
    n = np.arange(TRUE_PEAK_TAPS) - (TRUE_PEAK_TAPS - 1) / 2
    cutoff = 1.0 / TRUE_PEAK_UPSAMPLE
    taps: np.ndarray = cutoff * np.sinc(cutoff * n) * np.kaiser(TRUE_PEAK_TAPS, TRUE_PEAK_KAISER_BETA)
    scaled: np.ndarray = taps * (TRUE_PEAK_UPSAMPLE / float(taps.sum()))
    scaled.flags.writeable = False  # shared by every meter
    return scaled


# FFmpeg's filters act on the channels a layout names: one with no names ("9 channels") passes through
# unfiltered. Default layouts name up to 7 channels without gaps (and PyAV lists a planar frame's planes
# wrongly from 8 channels on), so wider audio is weighted in groups of at most 7 channels.
GRAPH_MAX_CHANNELS = 7


class _KWeightingGraph:
    """One filter graph over a group of channels, its state kept between blocks."""

    def __init__(self, rate: int, channels: int) -> None:
        self.rate, self.channels = rate, channels
        self.layout = str(av.AudioLayout(f"{channels}c").name)
        self._graph = av.filter.Graph()
        nodes = [self._graph.add_abuffer(format="dbl", sample_rate=rate, layout=self.layout)]
        nodes += [self._graph.add(name, f"{args}:transform=di:precision=f64") for name, args in K_WEIGHTING]
        nodes.append(self._graph.add("abuffersink"))
        self._graph.link_nodes(*nodes).configure()
        self._pts = 0

    def __call__(self, data: np.ndarray) -> np.ndarray:
        samples = np.ascontiguousarray(data, dtype=np.float64).reshape(1, -1)  # packed: one plane, channels interleaved
        frame = av.AudioFrame.from_ndarray(samples, format="dbl", layout=self.layout)
        frame.sample_rate, frame.pts = self.rate, self._pts
        self._pts += data.shape[0]
        self._graph.push(frame)
        parts = []
        while True:
            try:
                out = self._graph.pull()
            except (av.BlockingIOError, av.EOFError):
                break
            array = out.to_ndarray()
            parts.append(array.T if out.format.is_planar else array.reshape(-1, self.channels))
        return np.concatenate(parts) if parts else np.empty((0, self.channels))


class KWeighting:
    """FFmpeg's K-weighting filter chain over (samples, channels) float64 blocks, any number of
    channels, its state kept between blocks."""

    def __init__(self, rate: int, channels: int) -> None:
        self.rate, self.channels = rate, channels
        starts = range(0, channels, GRAPH_MAX_CHANNELS)
        self._groups = [(a, min(a + GRAPH_MAX_CHANNELS, channels)) for a in starts]
        self._graphs = [_KWeightingGraph(rate, b - a) for a, b in self._groups]

    def __call__(self, data: np.ndarray) -> np.ndarray:
        if len(self._graphs) == 1:
            return self._graphs[0](data)
        return np.hstack([graph(data[:, a:b]) for graph, (a, b) in zip(self._graphs, self._groups)])


class LevelMeter:
    """Accumulates levels over chunks shaped ``(samples, channels)`` of float audio in [-1, 1]."""

    def __init__(self, rate: int, channels: int) -> None:
        self.rate = rate
        self.channels = channels
        self._k_weight = KWeighting(rate, channels)
        self._hop = max(1, int(round(HOP_S * rate)))
        self._hop_energy: list[np.ndarray] = []
        self._partial = np.zeros(channels)
        self._partial_len = 0
        self._samples = 0
        self._sum_squares = 0.0
        self._peak = 0.0
        self._true_peak = 0.0
        self._clipped = 0
        self._tp_taps = true_peak_taps()
        self._tp_delay = (len(self._tp_taps) - 1) // 2  # filter delay, in output samples
        self._tp_edge = self._tp_delay // TRUE_PEAK_UPSAMPLE  # input samples the filter needs on each side
        self._pending: list[np.ndarray] = []
        self._pending_len = 0
        self._block = max(1, int(BLOCK_SAMPLES_S * rate))

    def feed(self, chunk: np.ndarray) -> None:
        data = np.asarray(chunk, dtype=np.float64)
        if data.ndim == 1:
            data = data[:, None]
        if data.shape[0] == 0:
            return
        if data.shape[1] != self.channels:
            raise ValueError(f"expected {self.channels} channels, got {data.shape[1]}")
        self._pending.append(data)
        self._pending_len += data.shape[0]
        if self._pending_len >= self._block:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        data = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending, self._pending_len = [], 0
        abs_data = np.abs(data)
        block_peak = float(abs_data.max())
        self._peak = max(self._peak, block_peak)
        self._clipped += int((abs_data >= CLIP_LEVEL).sum())
        self._sum_squares += float(np.square(data).sum())
        self._samples += data.shape[0]
        if block_peak * TRUE_PEAK_MARGIN > self._true_peak:
            self._true_peak = max(self._true_peak, self._block_true_peak(data, abs_data.max(axis=1)))
        self._accumulate_energy(self._k_weight(data))

    def _block_true_peak(self, data: np.ndarray, frame_peaks: np.ndarray) -> float:
        """4× oversampled peak in windows around the block's largest samples."""
        count = min(TRUE_PEAK_CANDIDATES, frame_peaks.shape[0])
        candidates = np.sort(np.argpartition(frame_peaks, -count)[-count:])
        peak = 0.0
        end = -1
        for index in candidates:
            if index <= end:
                continue  # inside the previous window
            start, end = max(0, index - TRUE_PEAK_HALF_WINDOW), min(data.shape[0], index + TRUE_PEAK_HALF_WINDOW)
            upsampled = self._upsample(data[start:end])
            # Keep the part the filter saw whole: the window's edges would ring like a cut.
            delay, edge = self._tp_delay, self._tp_edge
            steady = upsampled[delay + edge * TRUE_PEAK_UPSAMPLE : delay + (end - start - edge) * TRUE_PEAK_UPSAMPLE]
            if steady.size:
                peak = max(peak, float(np.abs(steady).max()))
            end -= edge  # the next window may start where this one's steady part ended
        return peak

    def _upsample(self, window: np.ndarray) -> np.ndarray:
        """``window`` (samples, channels) with 3 zeros after each sample, through the interpolation
        filter (full convolution, as scipy's upfirdn does)."""
        stuffed = np.zeros(((window.shape[0] - 1) * TRUE_PEAK_UPSAMPLE + 1, window.shape[1]))
        stuffed[::TRUE_PEAK_UPSAMPLE] = window
        return np.stack([np.convolve(stuffed[:, ch], self._tp_taps) for ch in range(window.shape[1])], axis=1)

    def _accumulate_energy(self, weighted: np.ndarray) -> None:
        squares = np.square(weighted)
        pos = 0
        while pos < squares.shape[0]:
            take = min(self._hop - self._partial_len, squares.shape[0] - pos)
            self._partial += squares[pos : pos + take].sum(axis=0)
            self._partial_len += take
            pos += take
            if self._partial_len == self._hop:
                self._hop_energy.append(self._partial)
                self._partial = np.zeros(self.channels)
                self._partial_len = 0

    def integrated_lufs(self) -> float | None:
        """Gated integrated loudness, or ``None`` for signals under one block or below the gate."""
        self._flush()
        duration = self._samples / self.rate
        if duration < BLOCK_S or not self._hop_energy:
            return None
        # A trailing partial hop counts with what it has, as pyloudnorm sums a truncated last block.
        tail = [self._partial] if self._partial_len else []
        hops = np.array(self._hop_energy + tail)  # (n_hops, channels)
        per_block = int(round(BLOCK_S / HOP_S))
        n_blocks = min(int(np.round((duration - BLOCK_S) / HOP_S)) + 1, len(hops) - per_block + 1)
        if n_blocks <= 0:
            return None
        window = np.lib.stride_tricks.sliding_window_view(hops, per_block, axis=0)[:n_blocks]
        z = window.sum(axis=2) / (BLOCK_S * self.rate)  # (blocks, channels) mean squares
        gains = np.array([CHANNEL_GAINS[i] if i < len(CHANNEL_GAINS) else 1.0 for i in range(self.channels)])
        with np.errstate(divide="ignore"):
            block_loudness = -0.691 + 10.0 * np.log10((z * gains).sum(axis=1))
        above_abs = block_loudness >= ABSOLUTE_GATE_LUFS
        if not above_abs.any():
            return None
        relative_gate = -0.691 + 10.0 * np.log10((z[above_abs].mean(axis=0) * gains).sum()) - 10.0
        gated = (block_loudness > relative_gate) & (block_loudness > ABSOLUTE_GATE_LUFS)
        if not gated.any():
            return None
        return round(float(-0.691 + 10.0 * np.log10((z[gated].mean(axis=0) * gains).sum())), 2)

    def report(self) -> LevelReport:
        self._flush()
        total = self._samples * self.channels
        rms = math.sqrt(self._sum_squares / total) if total else 0.0
        return LevelReport(
            integrated_lufs=self.integrated_lufs(),
            true_peak_dbtp=_db(self._true_peak),
            sample_peak_dbfs=_db(self._peak),
            rms_dbfs=_db(rms),
            clipping_ratio=round(self._clipped / total, 6) if total else 0.0,
            clipped_samples=self._clipped,
        )
