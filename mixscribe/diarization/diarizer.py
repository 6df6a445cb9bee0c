"""Who spoke when on one channel: speaker embeddings over the speech, clustered.

The speech regions (Silero VAD, the one faster-whisper runs) are covered by sliding windows of
``WINDOW_S`` every ``STEP_S``; each window's voice embedding (``encoder.VoiceEncoder``) is clustered by
agglomerative clustering (average linkage, cosine distance, SciPy). The tree is cut at ``THRESHOLD``;
clusters too small to be a speaker (a window straddling a turn, a cough) join their nearest
neighbour. When that count is not the one asked for (``speakers``, or outside the bounds), the tree is
cut where it has that many clusters big enough to be speakers, the rest absorbed. Windows are then
reassigned to the nearest speaker centroid, and every 10 ms frame of speech takes the speaker of the
windows covering it (majority, weighted towards each window's centre). The result keeps each
speaker's centroid, so pieces of a long file can be matched (``stitching.match_speakers``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from mixscribe.audio import MODEL_RATE

from .features import HOP, mel_frames, normalize_volume

log = logging.getLogger(__name__)

WINDOW_S = 1.6  # the encoder's training partials
STEP_S = 0.8  # half a window, as Resemblyzer partials its utterances; 0.4 cost 30 % more, no better (bench)
MIN_WINDOW_S = 0.5  # a shorter speech region is too short to tell a voice
THRESHOLD = 0.27  # cosine distance at which the tree is cut when no count is given (bench/diarization.py)
MIN_SHARE = 0.08  # a cluster with less of the windows is not a speaker of its own
BATCH = 64
FRAME_S = HOP / MODEL_RATE


class Encoder(Protocol):
    def embed(self, windows: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class SpeakerBounds:
    """How many speakers to find: ``exact``, or between ``low`` and ``high``."""

    exact: int | None = None
    low: int = 1
    high: int = 10

    def clamp(self, count: int) -> int:
        if self.exact is not None:
            return self.exact
        return max(self.low, min(self.high, count))


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: int  # cluster index, 0-based


@dataclass
class Diarization:
    """Speaker turns over the speech, with each speaker's centroid and the windows' count."""

    turns: list[Turn]
    centroids: np.ndarray  # [speakers, 256], L2-normalised
    windows: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def speakers(self) -> int:
        return int(self.centroids.shape[0])

    def speaker_at(self, start: float, end: float) -> int | None:
        """The speaker who talks most within ``[start, end]`` (the nearest turn's when none does)."""
        if not self.turns:
            return None
        talk: dict[int, float] = {}
        for turn in self.turns:
            overlap = min(end, turn.end) - max(start, turn.start)
            if overlap > 0:
                talk[turn.speaker] = talk.get(turn.speaker, 0.0) + overlap
        if talk:
            return max(talk, key=lambda s: talk[s])
        middle = (start + end) / 2
        nearest = min(self.turns, key=lambda t: min(abs(t.start - middle), abs(t.end - middle)))
        return nearest.speaker


def speech_regions(samples: np.ndarray) -> list[tuple[int, int]]:
    """Speech as ``(start, end)`` sample ranges: Silero VAD with short pauses kept apart."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=250, speech_pad_ms=60)
    return [(int(c["start"]), int(c["end"])) for c in get_speech_timestamps(samples, options)]


def window_frames(regions: list[tuple[int, int]], total_frames: int) -> list[tuple[int, int]]:
    """Sliding windows (frame ranges) over each region long enough to hold one."""
    size, step, shortest = round(WINDOW_S / FRAME_S), round(STEP_S / FRAME_S), round(MIN_WINDOW_S / FRAME_S)
    windows: list[tuple[int, int]] = []
    for start, end in regions:
        first, last = start // HOP, min(total_frames, end // HOP + 1)
        if last - first < shortest:
            continue
        if last - first <= size:
            windows.append((first, last))
            continue
        begin = first
        while begin + size < last:
            windows.append((begin, begin + size))
            begin += step
        windows.append((last - size, last))
    return windows


def embed_windows(encoder: Encoder, mels: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray:
    """Each window's embedding; windows of one length go through the encoder in batches."""
    out = np.zeros((len(windows), 256), np.float32)
    by_length: dict[int, list[int]] = {}
    for index, (start, end) in enumerate(windows):
        by_length.setdefault(end - start, []).append(index)
    for indices in by_length.values():
        for k in range(0, len(indices), BATCH):
            chunk = indices[k : k + BATCH]
            out[chunk] = encoder.embed(np.stack([mels[windows[i][0] : windows[i][1]] for i in chunk]))
    return out


def _normalise(vectors: np.ndarray) -> np.ndarray:
    unit: np.ndarray = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    return unit


def cluster(embeddings: np.ndarray, bounds: SpeakerBounds) -> np.ndarray:
    """A speaker index (0-based, dense) per embedding."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = embeddings.shape[0]
    if n < 2 or bounds.clamp(1) == bounds.exact == 1:
        return np.zeros(n, np.int64)
    tree = linkage(embeddings.astype(np.float64), method="average", metric="cosine")
    smallest = max(2, int(MIN_SHARE * n))
    labels = _absorb_small(embeddings, fcluster(tree, THRESHOLD, criterion="distance") - 1, smallest)
    count = bounds.clamp(len(set(labels.tolist())))
    if count != len(set(labels.tolist())):
        labels = _cut_to(embeddings, tree, min(count, n), max(2, int(MIN_SHARE / 2 * n)))
    return _refine(embeddings, labels)


def _cut_to(embeddings: np.ndarray, tree: np.ndarray, count: int, smallest: int) -> np.ndarray:
    """``count`` speakers from the tree: the first cut with that many clusters of ``smallest`` windows or
    more (a window straddling two voices splits off first, it is no speaker), the rest absorbed."""
    from scipy.cluster.hierarchy import fcluster

    for clusters in range(count, embeddings.shape[0] + 1):
        labels = fcluster(tree, clusters, criterion="maxclust") - 1
        if int(np.sum(np.bincount(labels) >= smallest)) == count:
            return _absorb_small(embeddings, labels, smallest)
    return _dense(fcluster(tree, count, criterion="maxclust") - 1)


def _absorb_small(embeddings: np.ndarray, labels: np.ndarray, smallest: int) -> np.ndarray:
    sizes = np.bincount(labels)
    big = [k for k in range(sizes.shape[0]) if sizes[k] >= smallest]
    if not big:
        return np.zeros_like(labels)
    centroids = _normalise(np.stack([embeddings[labels == k].mean(axis=0) for k in big]))
    out = labels.copy()
    for index in np.flatnonzero(sizes[labels] < smallest):
        out[index] = big[int(np.argmax(centroids @ embeddings[index]))]
    return _dense(out)


def _dense(labels: np.ndarray) -> np.ndarray:
    _, dense = np.unique(labels, return_inverse=True)
    return dense.astype(np.int64)


def _refine(embeddings: np.ndarray, labels: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Reassign each window to its nearest centroid (a few k-means steps from the tree's cut)."""
    labels = _dense(labels)
    for _ in range(rounds):
        count = int(labels.max()) + 1
        centroids = _normalise(np.stack([embeddings[labels == k].mean(axis=0) for k in range(count)]))
        moved = np.argmax(embeddings @ centroids.T, axis=1)
        if len(set(moved.tolist())) < count or np.array_equal(moved, labels):
            break
        labels = moved
    return labels


def frame_turns(windows: list[tuple[int, int]], labels: np.ndarray, regions: list[tuple[int, int]], speakers: int) -> list[Turn]:
    """Turns from the windows' speakers: each speech frame votes by the windows covering it."""
    if not windows:
        return []
    total = max(end for _, end in windows) + 1
    votes = np.zeros((speakers, total), np.float32)
    for (start, end), label in zip(windows, labels, strict=True):
        length = end - start
        weight = np.hanning(length + 2)[1:-1] if length > 2 else np.ones(length)
        votes[label, start:end] += weight
    turns: list[Turn] = []
    for begin, finish in regions:
        first, last = begin // HOP, min(total, finish // HOP + 1)
        if last <= first:
            continue
        span = votes[:, first:last]
        covered = span.sum(axis=0) > 0
        if not covered.any():  # a region too short for a window: the nearest window's speaker
            centre = (first + last) / 2
            nearest = min(range(len(windows)), key=lambda i: abs((windows[i][0] + windows[i][1]) / 2 - centre))
            turns.append(Turn(begin / MODEL_RATE, finish / MODEL_RATE, int(labels[nearest])))
            continue
        owner = np.argmax(span, axis=0)
        for k in range(1, owner.shape[0]):  # uncovered frames keep the previous frame's speaker
            if not covered[k]:
                owner[k] = owner[k - 1]
        start = 0
        for k in range(1, owner.shape[0] + 1):
            if k == owner.shape[0] or owner[k] != owner[start]:
                turns.append(Turn((first + start) * FRAME_S, (first + k) * FRAME_S, int(owner[start])))
                start = k
    return _merge_adjacent(turns)


def _merge_adjacent(turns: list[Turn]) -> list[Turn]:
    merged: list[Turn] = []
    for turn in sorted(turns, key=lambda t: t.start):
        if merged and merged[-1].speaker == turn.speaker and turn.start - merged[-1].end < 0.3:
            merged[-1] = Turn(merged[-1].start, max(merged[-1].end, turn.end), turn.speaker)
        else:
            merged.append(turn)
    return merged


def diarize(samples: np.ndarray, encoder: Encoder, bounds: SpeakerBounds = SpeakerBounds()) -> Diarization:
    """Speaker turns of 16 kHz mono ``samples``."""
    timings: dict[str, float] = {}
    mark = time.monotonic()
    regions = speech_regions(samples)
    timings["vad_s"] = time.monotonic() - mark
    mark = time.monotonic()
    mels = mel_frames(normalize_volume(samples))
    windows = window_frames(regions, mels.shape[0])
    embeddings = embed_windows(encoder, mels, windows)
    timings["embed_s"] = time.monotonic() - mark
    mark = time.monotonic()
    if not windows:
        return Diarization([], np.zeros((0, 256), np.float32), 0, timings)
    labels = cluster(embeddings, bounds)
    speakers = int(labels.max()) + 1
    centroids = _normalise(np.stack([embeddings[labels == k].mean(axis=0) for k in range(speakers)]))
    turns = frame_turns(windows, labels, regions, speakers)
    timings["cluster_s"] = time.monotonic() - mark
    return Diarization(turns, centroids.astype(np.float32), len(windows), timings)
