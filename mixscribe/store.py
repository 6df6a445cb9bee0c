"""Firestore persistence of jobs: every state change is a transaction that refuses to go backwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Callable

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1 import _helpers
from google.cloud.firestore_v1.base_query import FieldFilter

from .dispatch import Backlog, max_pieces
from .errors import TransientError, TransitionRefused
from .jobs import Job, JobStatus, can_transition
from . import telemetry

JOBS = "jobs"
TERMINAL_VALUES = frozenset(s.value for s in JobStatus if s.terminal)
DISPATCH = "dispatch"
BACKLOG_SCAN = 2000  # queued jobs a dispatch reads; beyond that the backlog wants every task anyway
DELETIONS = "deletions"
CAS_ATTEMPTS = 8


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def compare_and_set(
    client: firestore.Client, ref: Any, decide: Callable[[dict[str, Any] | None], dict[str, Any] | None]
) -> bool:
    """Optimistic update: write ``decide(current)`` only if nobody wrote since it was read.

    ``decide`` returns the fields to write, or ``None`` to leave the document alone. Hot
    documents use this instead of a transaction: no locks are held, so contention costs a
    re-read rather than a lock timeout (the emulator locks pessimistically).
    """
    for _ in range(CAS_ATTEMPTS):
        snap = ref.get()
        values = decide(snap.to_dict() if snap.exists else None)
        if values is None:
            return False
        try:
            if snap.exists:
                ref.update(values, option=client.write_option(last_update_time=snap.update_time))
            else:
                ref.create(values)
            return True
        except (gexc.FailedPrecondition, gexc.Conflict, gexc.AlreadyExists, gexc.NotFound):
            continue
    raise TransientError(f"{ref.path} is contended; retry later")


class ClaimOutcome(str, Enum):
    """What a worker may do with a transcription request."""

    CLAIMED = "claimed"  # this worker owns the job until its lease ends
    BUSY = "busy"  # another worker holds a live lease: try again later
    FINISHED = "finished"  # the job is past transcription or gone: drop the request


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    job: Job | None


class JobStore:
    """Jobs in the ``jobs`` collection of one Firestore database."""

    def __init__(self, client: firestore.Client) -> None:
        self._client = client
        self._jobs = client.collection(JOBS)

    @property
    def client(self) -> firestore.Client:
        return self._client

    def get(self, job_id: str) -> Job | None:
        doc = self._get_document(job_id)
        return Job.from_document(doc) if doc is not None else None

    def _get_document(self, job_id: str) -> dict[str, Any] | None:
        """One unary ``GetDocument`` call: about half the latency of ``DocumentReference.get()``,
        which streams ``BatchGetDocuments`` (measured on the emulator: 2.4 ms against 4.7 ms).
        Uses the client's GAPIC stub (pinned google-cloud-firestore); falls back to the public call."""
        api = getattr(self._client, "_firestore_api", None)
        if api is None or not hasattr(self._client, "_rpc_metadata"):
            snap = self._jobs.document(job_id).get()
            return snap.to_dict() if snap.exists else None
        name = f"{self._client._database_string}/documents/{JOBS}/{job_id}"
        try:
            document = api.get_document(request={"name": name}, metadata=self._client._rpc_metadata)
        except gexc.NotFound:
            return None
        return _helpers.decode_dict(document.fields, self._client)

    def list_for_owner(
        self, owner: str, limit: int, status: JobStatus | None = None, after: tuple[datetime, str] | None = None
    ) -> tuple[list[Job], bool]:
        """Newest first; ``after`` is the (created_at, job_id) of the last job of the previous page.

        Returns the page and whether more jobs follow. Needs the composite index
        (owner, [status,] created_at desc, job_id desc) that infra declares.
        """
        query = self._jobs.where(filter=FieldFilter("owner", "==", owner))
        if status is not None:
            query = query.where(filter=FieldFilter("status", "==", status.value))
        query = query.order_by("created_at", direction=firestore.Query.DESCENDING).order_by(
            "job_id", direction=firestore.Query.DESCENDING
        )
        if after is not None:
            query = query.start_after({"created_at": after[0], "job_id": after[1]})
        docs = [snap.to_dict() for snap in query.limit(limit + 1).stream()]
        return [Job.from_document(doc) for doc in docs[:limit]], len(docs) > limit

    def delete(self, job: Job, ttl_days: int) -> None:
        """Remove the record, leaving a tombstone so redelivered events cannot recreate it."""
        now = utcnow()
        self._client.collection(DELETIONS).document(job.job_id).set(
            {"owner": job.owner, "deleted_at": now, "expires_at": now + timedelta(days=ttl_days)}
        )
        self._jobs.document(job.job_id).delete()

    def deleted_owner(self, job_id: str) -> str | None:
        """The owner of a deleted job, or ``None`` when the job was never deleted."""
        snap = self._client.collection(DELETIONS).document(job_id).get()
        return str(snap.to_dict()["owner"]) if snap.exists else None

    def create(self, job: Job) -> tuple[Job, bool]:
        """Create ``job`` unless its id exists; returns the stored job and whether it is new.

        A plain create is atomic create-if-absent, so concurrent deliveries need no transaction.
        """
        ref = self._jobs.document(job.job_id)
        try:
            ref.create(job.to_document())
            telemetry.JOBS.add(1, {"status": job.status.value})
            return job, True
        except (gexc.Conflict, gexc.AlreadyExists):
            return Job.from_document(ref.get().to_dict()), False

    def record_webhook(self, job_id: str, state: str, attempts: int, last_status: int | None, last_error: str) -> None:
        """The outcome of a job's webhook (``delivered`` or ``failed``), as ``GET /v1/jobs/{id}`` shows it."""
        self.update_fields(job_id, {"webhook": {"state": state, "attempts": attempts, "last_status": last_status,
                                                "last_error": last_error, "updated_at": utcnow()}})

    def update_fields(self, job_id: str, values: dict[str, Any]) -> None:
        """Set bookkeeping fields that do not change the status."""
        self._jobs.document(job_id).update({**values, "updated_at": utcnow()})

    def transition(
        self, job_id: str, new_status: JobStatus, values: dict[str, Any] | None = None
    ) -> Job:
        """Move a job to ``new_status`` in a transaction; ``TransitionRefused`` if that goes backwards."""
        job = self._mutate(job_id, lambda job: self._transition_values(job, new_status, values or {}))
        telemetry.JOBS.add(1, {"status": new_status.value})
        return job

    @staticmethod
    def _transition_values(job: Job, new_status: JobStatus, values: dict[str, Any]) -> dict[str, Any]:
        if not can_transition(job.status, new_status):
            raise TransitionRefused(f"job {job.job_id}: {job.status.value} → {new_status.value} refused")
        return {**values, "status": new_status.value, "lease": None}

    def claim(self, job_id: str, worker: str, lease_s: int, now: datetime | None = None) -> Claim:
        """Take a job for transcription: from ``queued``, or from ``transcribing`` whose lease ended.

        Duplicate deliveries collide here, so it is an optimistic compare-and-set (one winner per
        read version, no locks) rather than a transaction; the backwards check is the same.
        """
        at = now or utcnow()
        seen: dict[str, Any] = {}

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            seen["job"] = job = Job.from_document(doc) if doc else None
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
            }

        compare_and_set(self._client, self._jobs.document(job_id), decide)
        job = seen["job"]
        if seen["outcome"] is ClaimOutcome.CLAIMED:
            job.status, job.attempts = JobStatus.TRANSCRIBING, job.attempts + 1
            telemetry.JOBS.add(1, {"status": JobStatus.TRANSCRIBING.value})
        return Claim(seen["outcome"], job)

    def renew_lease(self, job_id: str, worker: str, lease_s: int) -> None:
        """Extend this worker's lease while it still holds the job."""

        def values(job: Job) -> dict[str, Any]:
            if job.status is not JobStatus.TRANSCRIBING:
                raise TransitionRefused(f"job {job_id} is {job.status.value}, not transcribing")
            return {"lease": {"worker": worker, "until": utcnow() + timedelta(seconds=lease_s)}}

        self._mutate(job_id, values)

    def _mutate(self, job_id: str, compute: Callable[[Job], dict[str, Any]]) -> Job:
        ref = self._jobs.document(job_id)

        @firestore.transactional
        def mutate_tx(tx: firestore.Transaction) -> Job:
            snap = ref.get(transaction=tx)
            if not snap.exists:
                raise TransitionRefused(f"job {job_id} does not exist")
            doc = snap.to_dict()
            values = {**compute(Job.from_document(doc)), "updated_at": utcnow()}
            tx.update(ref, values)
            doc.update(values)
            return Job.from_document(doc)

        return mutate_tx(self._client.transaction())

    def force_fail(self, job_id: str, error: dict[str, str]) -> bool:
        """Fail a job that is not terminal, without parsing the document (it may be what poisoned
        the request). True when this call failed it; ``False`` when it is terminal or gone."""

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            if doc is None or doc.get("status") in TERMINAL_VALUES:
                return None
            return {"status": JobStatus.FAILED.value, "error": error, "lease": None, "updated_at": utcnow()}

        failed = compare_and_set(self._client, self._jobs.document(job_id), decide)
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

        return compare_and_set(self._client, self._jobs.document(job_id), decide)

    def try_dispatch(self, job_name: str, debounce_s: int, now: datetime | None = None) -> bool:
        """True for at most one caller per ``debounce_s``: that caller launches an execution."""
        at = now or utcnow()

        def decide(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            last = (doc or {}).get("last_launch_at")
            if last is not None and at - last < timedelta(seconds=debounce_s):
                return None
            return {"last_launch_at": at}

        return compare_and_set(self._client, self._client.collection(DISPATCH).document(job_name), decide)

    def backlog(self, shard_min_s: float, limit: int = BACKLOG_SCAN) -> Backlog:
        """The queued jobs: how many, their audio, the pieces they may be cut into (the first ``limit``)."""
        query = (self._jobs.where(filter=FieldFilter("status", "==", JobStatus.QUEUED.value))
                 .select(["probe.duration_s"]).limit(limit))
        durations = [float(((snap.to_dict() or {}).get("probe") or {}).get("duration_s") or 0.0) for snap in query.stream()]
        return Backlog(len(durations), sum(durations), sum(max_pieces(d, shard_min_s) for d in durations))

    def clear_dispatch(self, job_name: str) -> None:
        """Forget the last launch (it failed), so the next request launches again."""
        self._client.collection(DISPATCH).document(job_name).delete()
