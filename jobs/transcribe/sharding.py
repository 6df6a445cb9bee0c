"""The transcription pipeline's long-file path: one job over several Cloud Run tasks.

The task that claims a long job plans the pieces (``mixscribe.shards``), publishes one request
per further piece to ``transcribe-requests`` and transcribes piece 0 itself; idle tasks of the
same execution pull the other pieces. Every piece request downloads and decodes the file and
transcribes its range (plus the overlap); whoever completes the last piece stitches the pieces,
writes the outputs and moves the job forward — before acknowledging its message, so a stitcher
that dies is replaced when that message comes back.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from typing import Any, Protocol

from mixscribe import layout
from mixscribe.audio import MODEL_RATE, DecodedAudio
from mixscribe.config import Settings
from mixscribe.dispatch import max_pieces
from mixscribe.errors import ErrorCode, PermanentError
from mixscribe.jobs import JobStatus
from mixscribe.logs import fields
from mixscribe.ports import Blobs, Publisher
from mixscribe.requests import TranscriptionRequest, publish_request
from mixscribe.shards import ShardStore, plan_bounds, shift, stitch
from mixscribe.store import ClaimOutcome, JobStore
from mixscribe.transcript import Transcript

from .outcome import Outcome, TaskIdentity

log = logging.getLogger(__name__)


class PieceHost(Protocol):
    """What the long-file path uses of the pipeline that owns it (``TranscriptionPipeline``)."""

    settings: Settings
    store: JobStore
    blobs: Blobs
    publisher: Publisher
    task: TaskIdentity

    def load(self, request: TranscriptionRequest, timings: dict[str, float]) -> DecodedAudio: ...

    def model_pass(self, request: TranscriptionRequest, samples: Any, channel_samples: Any) -> tuple[Transcript, float]: ...

    def write_result(self, path: str, body: str, content_type: str) -> str: ...

    def fail(self, job_id: str, code: ErrorCode, message: str) -> None: ...

    def finish(
        self,
        request: TranscriptionRequest,
        transcript: Transcript,
        base: dict[str, Any],
        speech_s: float,
        timings: dict[str, float],
        started: float,
    ) -> None: ...


def piece_path(job_id: str, index: int) -> str:
    return f"{layout.job_prefix(job_id)}pieces/{index}.json"


class ShardedTranscription:
    def __init__(self, pipeline: PieceHost) -> None:
        self.p = pipeline
        self.shards = ShardStore(pipeline.store.documents)
        self.current: tuple[str, int] | None = None

    def pieces_for(self, duration_s: float) -> int:
        """How many pieces: one per task, each at least half of ``shard_min_s`` long; 1 = no split."""
        count = self.p.task.count
        return 1 if count < 2 else min(count, max_pieces(duration_s, self.p.settings.shard_min_s))

    def renew(self) -> None:
        if self.current is not None:
            job_id, index = self.current
            self.shards.renew(job_id, index, self.p.task.worker, self.p.settings.lease_s)

    def run_planned(self, request: TranscriptionRequest, audio: DecodedAudio, pieces: int, base: dict[str, Any]) -> None:
        """Plan (or find the plan), hand out the other pieces, do piece 0, stitch if last."""
        cuts = [0] + [end for _, end in plan_bounds(audio.samples, MODEL_RATE, pieces)]
        plan = self.shards.save_plan(
            request.job_id,
            {"pieces": pieces, "cuts": cuts, "rate": MODEL_RATE, "metrics": base, "planned_by": self.p.task.worker},
        )
        topic = self.p.settings.topic_path(self.p.settings.requests_topic)
        for index in range(1, plan["pieces"]):
            piece = replace(request, shard=index)
            publish_request(self.p.publisher, topic, piece.to_json(), request.job_id)
        log.info(
            "long job split",
            extra=fields(job_id=request.job_id, pieces=plan["pieces"], cuts_s=[c / MODEL_RATE for c in plan["cuts"]]),
        )
        self._piece(request, audio, plan, 0)
        self._try_stitch(request, plan)

    def process_piece(self, request: TranscriptionRequest) -> Outcome:
        plan = self.shards.plan(request.job_id)
        job = self.p.store.get(request.job_id)
        if plan is None or job is None or job.status not in (JobStatus.QUEUED, JobStatus.TRANSCRIBING):
            log.info("piece of a finished or missing job dropped", extra=fields(job_id=request.job_id, piece=request.shard))
            return Outcome.DONE
        try:
            audio = self.p.load(request, {})
            outcome = self._piece(request, audio, plan, int(request.shard or 0))
            if outcome is ClaimOutcome.BUSY:
                return Outcome.RETRY_LATER
            self._try_stitch(request, plan)
        except PermanentError as err:
            self.p.fail(request.job_id, err.code, err.message)
        return Outcome.DONE

    def _piece(self, request: TranscriptionRequest, audio: DecodedAudio, plan: dict[str, Any], index: int) -> ClaimOutcome:
        outcome = self.shards.claim(request.job_id, index, self.p.task.worker, self.p.settings.lease_s)
        if outcome is not ClaimOutcome.CLAIMED:
            return outcome
        self.current = (request.job_id, index)
        try:
            rate, cuts = plan["rate"], plan["cuts"]
            overlap = int(self.p.settings.shard_overlap_s * rate)
            low, high = max(0, cuts[index] - overlap), min(audio.samples.shape[0], cuts[index + 1] + overlap)
            channels = audio.channel_samples[:, low:high] if audio.channel_samples is not None else None
            started = time.monotonic()
            transcript, speech_s = self.p.model_pass(request, audio.samples[low:high], channels)
            elapsed = time.monotonic() - started
            uri = self.p.write_result(
                piece_path(request.job_id, index), shift(transcript, low / rate).to_json(), "application/json"
            )
            core_share = (cuts[index + 1] - cuts[index]) / max(1, high - low)
            self.shards.finish(request.job_id, index, uri, speech_s * core_share, round(elapsed, 3))
            log.info(
                "piece transcribed",
                extra=fields(
                    job_id=request.job_id, piece=index, seconds=round((high - low) / rate, 2), transcribe_s=round(elapsed, 3)
                ),
            )
        finally:
            self.current = None
        return outcome

    def _try_stitch(self, request: TranscriptionRequest, plan: dict[str, Any]) -> None:
        pieces = self.shards.pieces(request.job_id)
        count = plan["pieces"]
        if len(pieces) < count or any(p.get("state") != "done" for p in pieces.values()):
            return
        if not self.shards.begin_stitch(request.job_id, self.p.task.worker, self.p.settings.lease_s):
            return
        started = time.monotonic()
        results = self.p.settings.results_bucket
        transcripts = [
            Transcript.from_dict(json.loads(self.p.blobs.read(results, piece_path(request.job_id, k)))) for k in range(count)
        ]
        rate, cuts = plan["rate"], plan["cuts"]
        cores = [(cuts[k] / rate, cuts[k + 1] / rate if k + 1 < count else float("inf")) for k in range(count)]
        base = plan["metrics"]
        merged = stitch(transcripts, cores, base["duration_s"])
        timings = {
            "transcribe_s": max(float(p.get("transcribe_s", 0.0)) for p in pieces.values()),
            "stitch_s": time.monotonic() - started,
        }
        speech_s = sum(float(p.get("speech_s", 0.0)) for p in pieces.values())
        self.p.finish(replace(request, shard=None), merged, base, speech_s, timings, started)
        for k in range(count):  # the pieces served their purpose; readers see only the job's outputs
            self.p.blobs.delete(results, piece_path(request.job_id, k))
        log.info("long job stitched", extra=fields(job_id=request.job_id, pieces=count, segments=len(merged.segments)))
