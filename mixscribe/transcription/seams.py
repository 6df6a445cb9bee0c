"""Where a long file is cut and how its pieces' transcripts become one (pure functions).

A file is cut at the quietest half second near each 1/N mark. Each piece is transcribed with
``shard_overlap_s`` of audio on both sides (context for the model at the seams); when stitching, a
word belongs to the piece whose core range holds its midpoint, so a word heard by two pieces is
kept once and none falls between them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mixscribe.transcript import Segment, Transcript, Word

SEARCH_S = 30.0
QUIET_WINDOW_S = 0.5
HOP_S = 0.1


def plan_bounds(samples: np.ndarray, rate: int, pieces: int) -> list[tuple[int, int]]:
    """``pieces`` consecutive [start, end) sample ranges covering ``samples``, cut at quiet moments.

    Each cut is searched within ``SEARCH_S`` of its mark but never further than a third of a piece,
    so the search ranges of neighbouring cuts cannot overlap and the cuts stay in order.
    """
    total = samples.shape[0]
    hop, window = max(1, int(HOP_S * rate)), int(QUIET_WINDOW_S * rate)
    radius = int(min(SEARCH_S * rate, total / pieces / 3))
    cuts = [0]
    for k in range(1, pieces):
        target = k * total // pieces
        low = max(cuts[-1] + 1, target - radius)
        high = min(total - window, target + radius)
        if high - low <= window:
            cuts.append(max(cuts[-1] + 1, min(target, total - 1)))
            continue
        starts = np.arange(low, high - window, hop)
        energy = [float(np.mean(samples[s : s + window] ** 2)) for s in starts]
        cuts.append(int(starts[int(np.argmin(energy))]) + window // 2)
    cuts.append(total)
    return [(cuts[i], cuts[i + 1]) for i in range(pieces)]


def shift(transcript: Transcript, offset_s: float) -> Transcript:
    """The transcript with every timestamp moved by ``offset_s``."""

    def move(seg: Segment) -> Segment:
        words = tuple(replace(w, start=round(w.start + offset_s, 3), end=round(w.end + offset_s, 3)) for w in seg.words)
        return replace(seg, start=round(seg.start + offset_s, 3), end=round(seg.end + offset_s, 3), words=words)

    return replace(transcript, segments=tuple(move(s) for s in transcript.segments))


def _inside(start: float, end: float, low: float, high: float) -> bool:
    middle = (start + end) / 2
    return low <= middle < high


def stitch(pieces: list[Transcript], cores: list[tuple[float, float]], duration_s: float) -> Transcript:
    """One transcript from pieces (absolute timestamps) and their core ranges in seconds."""
    segments: list[Segment] = []
    for piece, (low, high) in zip(pieces, cores):
        for seg in piece.segments:
            if seg.words:
                kept: tuple[Word, ...] = tuple(w for w in seg.words if _inside(w.start, w.end, low, high))
                if not kept:
                    continue
                if len(kept) == len(seg.words):
                    segments.append(seg)
                else:
                    text = "".join(w.word for w in kept).strip()
                    segments.append(replace(seg, start=kept[0].start, end=kept[-1].end, text=text, words=kept))
            elif _inside(seg.start, seg.end, low, high):
                segments.append(seg)
    segments.sort(key=lambda s: (s.start, s.end))
    first = pieces[0]
    options = {**first.options, "shards": len(pieces), "shard_cores_s": [[round(a, 3), round(b, 3)] for a, b in cores]}
    return replace(
        first, segments=tuple(replace(s, id=i) for i, s in enumerate(segments)), duration_s=round(duration_s, 3), options=options
    )
