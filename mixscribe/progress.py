"""Live progress of a job's transcription, recorded on the job while the model runs.

Each piece of a job (one, or one per task for a long file) has a ``PieceProgress``: the audio seconds
its model pass has covered of its total, when it began, and the segments found so far (their text only
when the job may show text before it is final: never for a redacted job). A task's ``ProgressTracker``
hears every segment as faster-whisper yields it and records its piece on the job at most once per
``interval_s``, in one write of the job document (``JobStore.record_progress``), so progress costs no
measurable time and at most one write per task every few seconds.

The job's ``progress`` field holds the pieces and their sum (``summarize``): audio seconds done and in
all, a percentage, the measured speed (audio seconds per second, pieces side by side add up) and an
ETA from it. The completing transition replaces it with the final figures and drops the partial text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from .transcript import Segment

FIELD = "progress"  # the job document's field


@dataclass(frozen=True)
class PartialSegment:
    """A segment as the model found it (absolute times); the final transcript may still change it."""

    start: float
    end: float
    text: str
    speaker: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v != ""}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartialSegment:
        return cls(float(data["start"]), float(data["end"]), str(data["text"]), str(data.get("speaker") or ""))


@dataclass
class PieceProgress:
    """One piece's model pass: ``done_s`` of ``total_s`` seconds of work (channels count apiece)."""

    done_s: float
    total_s: float
    started_at: float  # epoch seconds when its model pass began
    updated_at: float
    segments: list[PartialSegment] = field(default_factory=list)

    @property
    def speed_x(self) -> float:
        elapsed = self.updated_at - self.started_at
        return self.done_s / elapsed if elapsed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "done_s": round(self.done_s, 2),
            "total_s": round(self.total_s, 2),
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "segments": [s.to_dict() for s in self.segments],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PieceProgress:
        return cls(
            float(data["done_s"]),
            float(data["total_s"]),
            float(data["started_at"]),
            float(data["updated_at"]),
            [PartialSegment.from_dict(s) for s in data.get("segments") or ()],
        )


def summarize(pieces: Mapping[str, PieceProgress], audio_s: float) -> dict[str, Any]:
    """The job's progress from its pieces: ``audio_s`` is the file's duration (pieces overlap a little)."""
    done = sum(min(p.done_s, p.total_s) for p in pieces.values())
    total = sum(p.total_s for p in pieces.values())
    share = done / total if total > 0 else 0.0
    speeds = [p.speed_x for p in pieces.values()]
    remaining = [(p.total_s - min(p.done_s, p.total_s)) / p.speed_x for p in pieces.values() if p.speed_x > 0]
    updated = max((p.updated_at for p in pieces.values()), default=time.time())
    return {
        "done_s": round(share * audio_s, 2),
        "total_s": round(audio_s, 2),
        "percent": round(100 * share, 1),
        "speed_x": round(sum(speeds), 2),
        "eta_s": round(max(remaining), 1) if remaining and len(remaining) == len(pieces) else None,
        "updated_at": datetime.fromtimestamp(updated, UTC),
    }


def finished(audio_s: float, now: datetime) -> dict[str, Any]:
    """The progress a job keeps once its transcript is written: all done, no partial text."""
    seconds = round(audio_s, 2)
    return {"done_s": seconds, "total_s": seconds, "percent": 100.0, "speed_x": None, "eta_s": 0.0, "updated_at": now}


def merged_pieces(progress: Mapping[str, Any] | None, piece: int, record: PieceProgress) -> dict[str, PieceProgress]:
    """The pieces of a stored ``progress`` field with ``record`` in place of piece ``piece``."""
    stored = (progress or {}).get("pieces") or {}
    pieces = {key: PieceProgress.from_dict(value) for key, value in stored.items()}
    pieces[str(piece)] = record
    return pieces


def partial_segments(progress: Mapping[str, Any] | None) -> list[tuple[str, PartialSegment]]:
    """Every partial segment of a stored ``progress`` field with a key unique within the job
    (``<piece>.<index>``), in time order."""
    found = []
    for piece, data in ((progress or {}).get("pieces") or {}).items():
        for index, segment in enumerate(data.get("segments") or ()):
            found.append((f"{piece}.{index}", PartialSegment.from_dict(segment)))
    return sorted(found, key=lambda item: (item[1].start, item[1].end))


def public_progress(progress: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``progress`` field as the API shows it (the figures; partial text is streamed, not shown)."""
    if not progress:
        return None
    updated = progress.get("updated_at")
    return {
        "done_s": progress.get("done_s"),
        "total_s": progress.get("total_s"),
        "percent": progress.get("percent"),
        "speed_x": progress.get("speed_x"),
        "eta_s": progress.get("eta_s"),
        "updated_at": updated.isoformat() if isinstance(updated, datetime) else updated,
    }


Record = Callable[[int, PieceProgress], None]
"""Writes one piece's progress onto the job (``JobStore.record_progress`` bound to the job)."""


class ProgressTracker:
    """Hears a piece's segments as the model yields them; records the piece at most every ``interval_s``.

    ``total_s`` is the piece's work in audio seconds (times the channels when each is transcribed on its
    own); ``offset_s`` the piece's start in the file, so partial segments carry the file's times.
    """

    def __init__(
        self,
        record: Record,
        piece: int,
        total_s: float,
        offset_s: float,
        interval_s: float,
        live_text: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._record = record
        self._piece = piece
        self._offset_s = offset_s
        self._interval_s = interval_s
        self._live_text = live_text
        self._clock = clock
        now = clock()
        self.state = PieceProgress(0.0, total_s, now, now)
        self._last_write = now  # the pass's start: the first write comes one interval in
        self.writes = 0

    def listener(self, channel: int = 0, channel_s: float = 0.0, speaker: str = "") -> Callable[[Segment], None]:
        """What the model calls with each segment of channel ``channel`` (each ``channel_s`` long)."""
        base = channel * channel_s

        def heard(segment: Segment) -> None:
            self.state.done_s = max(self.state.done_s, base + segment.end)
            if self._live_text and segment.text.strip():
                start, end = self._offset_s + segment.start, self._offset_s + segment.end
                self.state.segments.append(PartialSegment(start, end, segment.text.strip(), speaker or segment.speaker or ""))
            self.maybe_record()

        return heard

    def maybe_record(self) -> bool:
        """Record the piece if ``interval_s`` passed since the last write; True when it wrote."""
        now = self._clock()
        if now - self._last_write < self._interval_s:
            return False
        self.state.updated_at = now
        self._last_write = now
        self._record(self._piece, self.state)
        self.writes += 1
        return True
