"""The job repository: every state change refuses to go backwards (on the ``Documents`` port)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from . import telemetry
from .dispatch import Backlog, max_pieces
from .errors import TransitionRefused
from .jobs import Job, JobStatus, can_transition
from .ports import DocumentMissing, Documents
from .progress import FIELD as PROGRESS
from .progress import PieceProgress, merged_pieces, summarize

JOBS = "jobs"
TERMINAL_VALUES = frozenset(s.value for s in JobStatus if s.terminal)
DISPATCH = "dispatch"
BACKLOG_SCAN = 2000  # queued jobs a dispatch reads; beyond that the backlog wants every task anyway
DELETIONS = "deletions"
PROMISED = "promised"  # job ids the API handed out before the upload trigger records their jobs


def utcnow() -> datetime:
    return datetime.now(UTC)


class ClaimOutcome(str, Enum):
    """What a worker may do with a transcription request."""

    CLAIMED = "claimed"  # this worker owns the job until its lease ends
    BUSY = "busy"  # another worker holds a live lease: try again later
    FINISHED = "finished"  # the job is past transcription or gone: drop the request
    EXHAUSTED = "exhausted"  # claimed past the attempts limit, so the job failed (``Lifecycle.start``)


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    job: Job | None
    saved_plan: dict[str, Any] | None = None  # an earlier attempt's piece plan (``shard_plan``), read with the claim


class JobStore:
    """Jobs in the ``jobs`` collection (deletion tombstones in ``deletions``, launches in ``dispatch``)."""

    def __init__(self, documents: Documents) -> None:
        self.documents = documents

    def get(self, job_id: str) -> Job | None:
        doc = self.documents.get(_job(job_id))
        return Job.from_document(doc) if doc is not None else None

    def list_for_owner(
        self, owner: str, limit: int, status: JobStatus | None = None, after: tuple[datetime, str] | None = None
    ) -> tuple[list[Job], bool]:
        """Newest first; ``after`` is the (created_at, job_id) of the last job of the previous page.

        Returns the page and whether more jobs follow. Needs the composite index
        (owner, [status,] created_at desc, job_id desc) that infra declares.
        """
        where: list[tuple[str, Any]] = [("owner", owner)]
        if status is not None:
            where.append(("status", status.value))
        found = self.documents.query(
            JOBS, where, order_by=("created_at", "job_id"), descending=True, start_after=after, limit=limit + 1
        )
        docs = [doc for _, doc in found]
        return [Job.from_document(doc) for doc in docs[:limit]], len(docs) > limit

    def delete(self, job: Job, ttl_days: int) -> None:
        """Remove the record, leaving a tombstone so redelivered events cannot recreate it."""
        now = utcnow()
        self.documents.set(
            f"{DELETIONS}/{job.job_id}", {"owner": job.owner, "deleted_at": now, "expires_at": now + timedelta(days=ttl_days)}
        )
        self.documents.delete(_job(job.job_id))

    def deleted_owner(self, job_id: str) -> str | None:
        """The owner of a deleted job, or ``None`` when the job was never deleted."""
        doc = self.documents.get(f"{DELETIONS}/{job_id}")
        return str(doc["owner"]) if doc is not None else None

    def promise(self, job_id: str, owner: str, ttl_s: int) -> None:
        """Remember that ``owner`` was handed ``job_id`` (its upload's trigger records the job later)."""
        now = utcnow()
        self.documents.set(f"{PROMISED}/{job_id}", {"owner": owner, "expires_at": now + timedelta(seconds=ttl_s)})

    def promised_to(self, job_id: str) -> str | None:
        """Whom ``job_id`` was handed to, while the promise lasts (None: never, or long ago)."""
        doc = self.documents.get(f"{PROMISED}/{job_id}")
        return str(doc["owner"]) if doc is not None and doc["expires_at"] > utcnow() else None

    def create(self, job: Job) -> tuple[Job, bool]:
        """Create ``job`` unless its id exists; returns the stored job and whether it is new.

        A plain create is atomic create-if-absent, so concurrent deliveries need no transaction.
        """
        if self.documents.create(_job(job.job_id), job.to_document()):
            telemetry.JOBS.add(1, {"status": job.status.value})
            return job, True
        stored = self.documents.get(_job(job.job_id))
        if stored is None:
            raise TransitionRefused(f"job {job.job_id} was deleted while created")
        return Job.from_document(stored), False

    def record_webhook(self, job_id: str, state: str, attempts: int, last_status: int | None, last_error: str) -> None:
        """The outcome of a job's webhook (``delivered`` or ``failed``), as ``GET /v1/jobs/{id}`` shows it."""
        self.update_fields(
            job_id,
            {
                "webhook": {
                    "state": state,
                    "attempts": attempts,
                    "last_status": last_status,
                    "last_error": last_error,
                    "updated_at": utcnow(),
                }
            },
        )

    def update_fields(self, job_id: str, values: dict[str, Any], now: datetime | None = None) -> None:
        """Set bookkeeping fields that do not change the status."""
        self.documents.update(_job(job_id), {**values, "updated_at": now or utcnow()})

    def transition(
        self, job_id: str, new_status: JobStatus, values: dict[str, Any] | None = None, now: datetime | None = None
    ) -> Job:
        """Move a job to ``new_status`` in a transaction, at ``now``; ``TransitionRefused`` if that goes backwards.
        (``mixscribe.lifecycle`` moves jobs: it reports each transition with its event.)"""
        job = self._mutate(job_id, lambda job: self._transition_values(job, new_status, values or {}), now)
        telemetry.JOBS.add(1, {"status": new_status.value})
        return job

    @staticmethod
    def _transition_values(job: Job, new_status: JobStatus, values: dict[str, Any]) -> dict[str, Any]:
        if not can_transition(job.status, new_status):
            raise TransitionRefused(f"job {job.job_id}: {job.status.value} → {new_status.value} refused")
        return {**values, "status": new_status.value, "lease": None}

    def claim(
        self, job_id: str, worker: str, lease_s: int, now: datetime | None = None, values: dict[str, Any] | None = None
    ) -> Claim:
        """Take a job for transcription: from ``queued``, or from ``transcribing`` whose lease ended.

        Duplicate deliveries collide here, so it is an optimistic compare-and-set (one winner per
        read version, no locks) rather than a transaction; the backwards check is the same.
        """
        at = now or utcnow()
        seen: dict[str, Any] = {}

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            seen["job"] = job = Job.from_document(doc) if doc else None
            seen["plan"] = (doc or {}).get("shard_plan")
            if job is None or job.status not in (JobStatus.QUEUED, JobStatus.TRANSCRIBING):
                seen["outcome"] = ClaimOutcome.FINISHED
                return None
            lease = (doc or {}).get("lease") or {}
            live = lease.get("until") is not None and lease["until"] > at
            if job.status is JobStatus.TRANSCRIBING and live and lease.get("worker") != worker:
                seen["outcome"] = ClaimOutcome.BUSY
                return None
            seen["outcome"] = ClaimOutcome.CLAIMED
            return {
                "status": JobStatus.TRANSCRIBING.value,
                "attempts": job.attempts + 1,
                "lease": {"worker": worker, "until": at + timedelta(seconds=lease_s)},
                "updated_at": at,
                **(values or {}),
            }

        self.documents.compare_and_set(_job(job_id), decide)
        job = seen["job"]
        if seen["outcome"] is ClaimOutcome.CLAIMED:
            job.status, job.attempts = JobStatus.TRANSCRIBING, job.attempts + 1
            telemetry.JOBS.add(1, {"status": JobStatus.TRANSCRIBING.value})
        return Claim(seen["outcome"], job, seen["plan"])

    def renew_lease(self, job_id: str, worker: str, lease_s: int) -> None:
        """Extend this worker's lease while it still holds the job (never one another worker took over)."""

        def values(doc: dict[str, Any]) -> dict[str, Any]:
            if doc.get("status") != JobStatus.TRANSCRIBING.value:
                raise TransitionRefused(f"job {job_id} is {doc.get('status')}, not transcribing")
            holder = (doc.get("lease") or {}).get("worker")
            if holder != worker:
                raise TransitionRefused(f"job {job_id} is leased to {holder}, not {worker}")
            return {"lease": {"worker": worker, "until": utcnow() + timedelta(seconds=lease_s)}}

        self._transact(job_id, values)

    def keep_alive(self, job_id: str, lease_s: int) -> None:
        """Extend a transcribing job's lease, whoever holds it, to at least ``lease_s`` from now: a task
        working on one of its pieces keeps the job claimed, so a redelivered request cannot claim it
        again (another attempt) while any piece is at work."""
        now = utcnow()

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            lease = (doc or {}).get("lease") or {}
            if doc is None or doc.get("status") != JobStatus.TRANSCRIBING.value or lease.get("until") is None:
                return None
            until = max(lease["until"], now + timedelta(seconds=lease_s))
            return {"lease": {"worker": lease.get("worker"), "until": until}}

        self.documents.compare_and_set(_job(job_id), decide)

    def record_progress(self, job_id: str, piece: int, record: PieceProgress, audio_s: float) -> bool:
        """Put piece ``piece``'s progress on a transcribing job (one write of the job document, with the
        job's sum of its pieces); nothing once the job has moved on. True when it wrote."""

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            if doc is None or doc.get("status") != JobStatus.TRANSCRIBING.value:
                return None
            pieces = merged_pieces(doc.get(PROGRESS), piece, record)
            stored = {key: value.to_dict() for key, value in pieces.items()}
            return {PROGRESS: {**summarize(pieces, audio_s), "pieces": stored}}

        return self.documents.compare_and_set(_job(job_id), decide)

    def _mutate(self, job_id: str, compute: Callable[[Job], dict[str, Any]], now: datetime | None = None) -> Job:
        return Job.from_document(self._transact(job_id, lambda doc: compute(Job.from_document(doc)), now))

    def _transact(
        self, job_id: str, compute: Callable[[dict[str, Any]], dict[str, Any]], now: datetime | None = None
    ) -> dict[str, Any]:
        """One transaction on the job's document, stamping ``updated_at`` (``now``); a missing job refuses."""
        try:
            return self.documents.transact(_job(job_id), lambda doc: {**compute(doc), "updated_at": now or utcnow()})
        except DocumentMissing as exc:
            raise TransitionRefused(f"job {job_id} does not exist") from exc

    def force_fail(self, job_id: str, error: dict[str, str], now: datetime | None = None) -> bool:
        """Fail a job that is not terminal, without parsing the document (it may be what poisoned
        the request). True when this call failed it; ``False`` when it is terminal or gone."""

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            if doc is None or doc.get("status") in TERMINAL_VALUES:
                return None
            return {"status": JobStatus.FAILED.value, "error": error, "lease": None, "updated_at": now or utcnow()}

        failed = self.documents.compare_and_set(_job(job_id), decide)
        if failed:
            telemetry.JOBS.add(1, {"status": JobStatus.FAILED.value})
        return failed

    def begin_publish(self, job_id: str, lease_s: int, now: datetime | None = None) -> bool:
        """True for the one caller that should publish a queued job's request now.

        The winner holds a short publishing lease; if it dies before recording ``published_at``
        the lease runs out and a redelivered event publishes instead.
        """
        at = now or utcnow()

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            if doc is None or doc.get("published_at") is not None:
                return None
            until = doc.get("publishing_until")
            if until is not None and until > at:
                return None
            return {"publishing_until": at + timedelta(seconds=lease_s)}

        return self.documents.compare_and_set(_job(job_id), decide)

    def try_dispatch(self, job_name: str, debounce_s: int, now: datetime | None = None) -> bool:
        """True for at most one caller per ``debounce_s``: that caller launches an execution."""
        at = now or utcnow()

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            last = (doc or {}).get("last_launch_at")
            if last is not None and at - last < timedelta(seconds=debounce_s):
                return None
            return {"last_launch_at": at}

        return self.documents.compare_and_set(f"{DISPATCH}/{job_name}", decide)

    def backlog(self, shard_min_s: float, priorities: tuple[str, ...], limit: int = BACKLOG_SCAN) -> Backlog:
        """The queued jobs of ``priorities``: how many, their audio, the pieces they may be cut into (the
        first ``limit`` of each priority; equality filters only, served by single-field indexes)."""
        durations: list[float] = []
        for priority in priorities:
            where = [("status", JobStatus.QUEUED.value), ("options.priority", priority)]
            queued = self.documents.query(JOBS, where, limit=limit, select=["probe.duration_s"])
            durations += [float((doc.get("probe") or {}).get("duration_s") or 0.0) for _, doc in queued]
        return Backlog(len(durations), sum(durations), sum(max_pieces(d, shard_min_s) for d in durations))

    def clear_dispatch(self, job_name: str) -> None:
        """Forget the last launch (it failed), so the next request launches again."""
        self.documents.delete(f"{DISPATCH}/{job_name}")


def _job(job_id: str) -> str:
    return f"{JOBS}/{job_id}"
