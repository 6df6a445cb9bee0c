"""One set of speakers for a long file: each piece's speakers matched to the file's by their voices.

Every diarized piece records its speakers' centroids (``RECORD`` in its options). Piece 0's speakers
are the file's first; each later piece's speakers are paired with the file's speakers of the same
channel by the Hungarian method on cosine similarity (SciPy); a pair closer than ``MATCH_SIMILARITY``
is one speaker, and an unpaired speaker is a new one. The file's centroid of a matched speaker is
the mean of its pieces' centroids, so later pieces match against all the voice heard so far.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mixscribe.transcript import Transcript

from .assign import RECORD, merge_records
from .diarizer import THRESHOLD
from .labels import relabel

MATCH_SIMILARITY = 1.0 - THRESHOLD  # the clustering's own cut


def _channel(label: str) -> str:
    return label.rpartition("/")[0]


def match_speakers(pieces: list[Transcript]) -> list[Transcript]:
    """The pieces with their speaker labels mapped onto the whole file's (piece 0's first)."""
    from scipy.optimize import linear_sum_assignment

    known: dict[str, np.ndarray] = {}  # file label → running sum of unit centroids
    out: list[Transcript] = []
    for piece in pieces:
        centroids: dict[str, list[float]] = (piece.options.get(RECORD) or {}).get("centroids", {})
        mapping: dict[str, str] = {}
        for channel in sorted({_channel(label) for label in centroids}):
            mine = [label for label in centroids if _channel(label) == channel]
            theirs = [label for label in known if _channel(label) == channel]
            if theirs:
                a = np.array([centroids[label] for label in mine], dtype=np.float64)
                b = np.array([known[label] / np.linalg.norm(known[label]) for label in theirs])
                similarity = a @ b.T
                for i, j in zip(*linear_sum_assignment(-similarity), strict=True):
                    if similarity[i, j] >= MATCH_SIMILARITY:
                        mapping[mine[i]] = theirs[j]
            for label in mine:
                if label not in mapping:
                    prefix = f"{channel}/" if channel else ""
                    mapping[label] = f"{prefix}{sum(1 for k in known if _channel(k) == channel)}"
                target = mapping[label]
                known[target] = known.get(target, np.zeros(len(centroids[label]))) + np.array(centroids[label])
        out.append(relabel(piece, mapping))
    return out


def final_record(transcripts: list[Transcript]) -> dict[str, Any]:
    """What the finished transcript keeps of its pieces' diarization (no centroids)."""
    merged = merge_records(*(t.options.get(RECORD) for t in transcripts))
    return {"windows": merged["windows"], "diarize_s": merged["diarize_s"], "pieces": len(transcripts)}
