"""Long files across Cloud Run tasks: plan pieces at silences, claim pieces, stitch the result.

A file at least ``shard_min_s`` long, handled by an execution of N > 1 tasks, is split into N
pieces cut at the quietest half second near each 1/N mark. Each piece is transcribed with
``overlap_s`` of audio on both sides (context for the model at the seams); when stitching, a word
belongs to the piece whose core range holds its midpoint, so a word heard by two pieces is kept
once and none falls between them. The plan lives on the job (``shard_plan``), each piece's state
in ``jobs/{id}/shards/{k}`` (claimed with a lease by compare-and-set), each piece's transcript in
the results bucket; whoever finishes the last piece stitches (one winner, by compare-and-set).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any, cast

import numpy as np

from .ports import Documents
from .store import JOBS, ClaimOutcome, utcnow
from .transcript import Segment, Transcript, Word

SHARDS = "shards"
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


class ShardStore:
    """Plan and piece states on the ``Documents`` port (optimistic compare-and-set, no locks)."""

    def __init__(self, documents: Documents) -> None:
        self.documents = documents

    @staticmethod
    def _job(job_id: str) -> str:
        return f"{JOBS}/{job_id}"

    def _piece(self, job_id: str, index: int) -> str:
        return f"{self._job(job_id)}/{SHARDS}/{index}"

    def save_plan(self, job_id: str, plan: dict[str, Any]) -> dict[str, Any]:
        """Record ``plan`` unless the job has one; the plan in force."""
        seen: dict[str, Any] = {}

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            seen["plan"] = (doc or {}).get("shard_plan") or plan
            return None if (doc or {}).get("shard_plan") else {"shard_plan": plan}

        self.documents.compare_and_set(self._job(job_id), decide)
        return cast(dict[str, Any], seen["plan"])

    def plan(self, job_id: str) -> dict[str, Any] | None:
        doc = self.documents.get(self._job(job_id))
        return (doc or {}).get("shard_plan")

    def claim(self, job_id: str, index: int, worker: str, lease_s: int) -> ClaimOutcome:
        outcome: dict[str, ClaimOutcome] = {}
        now = utcnow()

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            doc = doc or {}
            if doc.get("state") == "done":
                outcome["o"] = ClaimOutcome.FINISHED
                return None
            until = doc.get("lease_until")
            if until is not None and until > now and doc.get("worker") != worker:
                outcome["o"] = ClaimOutcome.BUSY
                return None
            outcome["o"] = ClaimOutcome.CLAIMED
            return {
                "state": "working",
                "worker": worker,
                "lease_until": now + timedelta(seconds=lease_s),
                "attempts": int(doc.get("attempts", 0)) + 1,
            }

        self.documents.compare_and_set(self._piece(job_id, index), decide)
        return outcome["o"]

    def renew(self, job_id: str, index: int, worker: str, lease_s: int) -> None:
        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            if not doc or doc.get("worker") != worker or doc.get("state") != "working":
                return None
            return {"lease_until": utcnow() + timedelta(seconds=lease_s)}

        self.documents.compare_and_set(self._piece(job_id, index), decide)

    def finish(self, job_id: str, index: int, uri: str, speech_s: float, transcribe_s: float) -> None:
        self.documents.set(
            self._piece(job_id, index),
            {
                "state": "done",
                "uri": uri,
                "speech_s": speech_s,
                "transcribe_s": transcribe_s,
                "lease_until": None,
                "finished_at": utcnow(),
            },
            merge=True,
        )

    def pieces(self, job_id: str) -> dict[int, dict[str, Any]]:
        return {int(key): doc for key, doc in self.documents.query(f"{self._job(job_id)}/{SHARDS}")}

    def begin_stitch(self, job_id: str, worker: str, lease_s: int) -> bool:
        """True for the one caller that stitches now (a dead stitcher's lease runs out)."""
        now = utcnow()

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            until = (doc or {}).get("stitching_until")
            if doc is None or (until is not None and until > now and doc.get("stitcher") != worker):
                return None
            return {"stitching_until": now + timedelta(seconds=lease_s), "stitcher": worker}

        return self.documents.compare_and_set(self._job(job_id), decide)
