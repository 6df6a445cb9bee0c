"""The plan of a job's pieces and each piece's state, on the ``Documents`` port.

The plan lives on the job document (``shard_plan``), each piece's state in ``jobs/{id}/shards/{k}``
(claimed with a lease by compare-and-set, attempts counted), so any task of the execution can take a
piece and exactly one caller stitches (``begin_stitch``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from mixscribe.ports import Documents
from mixscribe.store import JOBS, ClaimOutcome, utcnow

SHARDS = "shards"


@dataclass(frozen=True)
class Plan:
    """How a job is cut: ``cuts[k]`` to ``cuts[k + 1]`` is piece k's core range, in samples at ``rate``."""

    pieces: int
    cuts: list[int]
    rate: int
    metrics: dict[str, Any]  # metrics.json's audio part, measured on the whole file by the planner
    planned_by: str
    started_at: float = 0.0  # epoch seconds the planning attempt began (the job's total_s counts from it)
    timings: dict[str, float] = field(default_factory=dict)  # the planner's download_s, decode_s, plan_s
    language_detection: dict[str, Any] | None = None  # language=auto: the file's language, for every piece

    def core_s(self, index: int) -> tuple[float, float]:
        """Piece ``index``'s core range in seconds (the last one open-ended)."""
        high = self.cuts[index + 1] / self.rate if index + 1 < self.pieces else float("inf")
        return self.cuts[index] / self.rate, high

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(
            pieces=int(data["pieces"]),
            cuts=[int(c) for c in data["cuts"]],
            rate=int(data["rate"]),
            metrics=dict(data.get("metrics") or {}),
            planned_by=str(data.get("planned_by", "")),
            started_at=float(data.get("started_at", 0.0)),
            timings={k: float(v) for k, v in (data.get("timings") or {}).items()},
            language_detection=data.get("language_detection"),
        )


@dataclass(frozen=True)
class PieceClaim:
    outcome: ClaimOutcome
    attempts: int  # this piece's claims so far, this one included


class ShardStore:
    """Plan and piece states on the ``Documents`` port (optimistic compare-and-set, no locks)."""

    def __init__(self, documents: Documents) -> None:
        self.documents = documents

    @staticmethod
    def _job(job_id: str) -> str:
        return f"{JOBS}/{job_id}"

    def _piece(self, job_id: str, index: int) -> str:
        return f"{self._job(job_id)}/{SHARDS}/{index}"

    def save_plan(self, job_id: str, plan: Plan) -> Plan:
        """Record ``plan`` unless the job has one; the plan in force."""
        seen: dict[str, Any] = {}

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            seen["plan"] = (doc or {}).get("shard_plan") or plan.to_dict()
            return None if (doc or {}).get("shard_plan") else {"shard_plan": plan.to_dict()}

        self.documents.compare_and_set(self._job(job_id), decide)
        return Plan.from_dict(seen["plan"])

    def plan(self, job_id: str) -> Plan | None:
        doc = self.documents.get(self._job(job_id))
        saved = (doc or {}).get("shard_plan")
        return Plan.from_dict(saved) if saved else None

    def claim(self, job_id: str, index: int, worker: str, lease_s: int) -> PieceClaim:
        """Take piece ``index``: unless it is done or another worker's lease on it is live."""
        seen: dict[str, Any] = {}
        now = utcnow()

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            doc = doc or {}
            seen["attempts"] = int(doc.get("attempts", 0))
            if doc.get("state") == "done":
                seen["outcome"] = ClaimOutcome.FINISHED
                return None
            until = doc.get("lease_until")
            if until is not None and until > now and doc.get("worker") != worker:
                seen["outcome"] = ClaimOutcome.BUSY
                return None
            seen["outcome"] = ClaimOutcome.CLAIMED
            seen["attempts"] += 1
            return {
                "state": "working",
                "worker": worker,
                "lease_until": now + timedelta(seconds=lease_s),
                "attempts": seen["attempts"],
            }

        self.documents.compare_and_set(self._piece(job_id, index), decide)
        return PieceClaim(seen["outcome"], seen["attempts"])

    def renew(self, job_id: str, index: int, worker: str, lease_s: int) -> None:
        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            if not doc or doc.get("worker") != worker or doc.get("state") != "working":
                return None
            return {"lease_until": utcnow() + timedelta(seconds=lease_s)}

        self.documents.compare_and_set(self._piece(job_id, index), decide)

    def finish(self, job_id: str, index: int, uri: str, speech_s: float, transcribe_s: float) -> None:
        """Piece ``index`` is done: its transcript is at ``uri``."""
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
