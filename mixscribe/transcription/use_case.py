"""Transcription: one road for every request, whatever the file's length.

A job's request claims the job (one claim, one attempts rule, one ``job.started``), fetches and
decodes the file and plans its pieces: one, or for a long file in a multi-task execution one per
task, cut at silences. It saves the other pieces' samples, hands them out as piece requests on the
same topic, transcribes piece 0 and, if its piece is the last one done, completes the job. A piece
request claims its piece (the same attempts rule, per piece), reads the samples the planner saved,
transcribes them and completes the job if it finishes the last piece. Whoever works on a piece
keeps the job's lease alive, so no redelivered request claims the job meanwhile.

Completing means: stitch the pieces (a single piece is its own transcript), redact when asked
(``redacting``), write every output, then move the job forward, so a reader who sees ``transcribed``
or ``done`` finds every output. A crash before that leaves the job ``transcribing`` under an
expiring lease (or a piece under its own), and the redelivered request takes it over.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from mixscribe import layout, telemetry
from mixscribe.audio import MODEL_RATE, DecodedAudio
from mixscribe.config import Settings
from mixscribe.diarization.assign import RECORD
from mixscribe.diarization.labels import name_speakers, with_summary
from mixscribe.diarization.stitching import final_record, match_speakers
from mixscribe.dispatch import max_pieces
from mixscribe.errors import PermanentError, TransitionRefused
from mixscribe.event_types import JobCompleted
from mixscribe.events import EventSink
from mixscribe.jobs import Job, JobStatus, routing_record
from mixscribe.lifecycle import Lifecycle
from mixscribe.logs import fields
from mixscribe.ports import Blobs, Publisher
from mixscribe.progress import FIELD as PROGRESS
from mixscribe.progress import ProgressTracker, finished
from mixscribe.store import ClaimOutcome, JobStore, utcnow
from mixscribe.transcript import Transcript
from mixscribe.transcript_cache import TranscriptCache
from mixscribe.work_requests import NotesRequest, TranscriptionRequest, publish_notes_request, publish_request

from .dynamic_batching import DynamicBatcher, pack_of
from .engine import ModelCache
from .guards import apply_guards
from .language_choice import decide_language
from .live_progress import piece_tracker
from .outcome import Outcome, TaskIdentity
from .outputs import SUMMARY_KEYS, ResultWriter, job_metrics, record_metrics, transcribed_event
from .piece_store import Plan, ShardStore
from .redacting import redact_job
from .seams import plan_bounds, shift, stitch
from .source import (
    PieceAudio,
    base_metrics,
    cut,
    fetch_and_decode,
    load_piece_audio,
    per_channel,
    piece_audio_path,
    save_piece_audio,
)
from .speakers import channel_diarizer, transcribe_channels

log = logging.getLogger(__name__)
SOURCE = "jobs/transcribe"


def piece_path(job_id: str, index: int) -> str:
    """Where piece ``index``'s transcript waits for the stitcher (absolute timestamps)."""
    return f"{layout.job_prefix(job_id)}pieces/{index}.json"


@dataclass(frozen=True)
class PieceResult:
    transcript: Transcript  # timestamps from the file's start
    speech_s: float  # speech seconds within the piece's core range
    transcribe_s: float


class Transcription:
    """The use case on its ports; ``process`` takes one request's message body."""

    def __init__(
        self,
        settings: Settings,
        store: JobStore,
        blobs: Blobs,
        publisher: Publisher,
        events: EventSink,
        models: ModelCache,
        task: TaskIdentity,
        max_attempts: int,
    ) -> None:
        self.settings = settings
        self.store = store
        self.lifecycle = Lifecycle(store, events, SOURCE)
        self.pieces = ShardStore(store.documents)
        self.cache = TranscriptCache(store.documents, blobs, settings)
        self.blobs = blobs
        self.results = ResultWriter(blobs, settings.results_bucket)
        self.publisher = publisher
        self.models = models
        self.task = task
        self.max_attempts = max_attempts
        self.claimed: set[str] = set()  # the jobs this task holds the leases of, while it works on them
        self.working: set[tuple[str, int]] = set()  # the (job, piece)s this task transcribes now
        self.batcher: DynamicBatcher | None = None  # requests side by side share the model's batches
        self.task_start: dict[str, float] | None = None  # how the task came up; the first job it completes says
        self._start_reported = False

    def renew(self, job_id: str) -> None:
        """Keep this worker's claims alive (the worker's heartbeat calls it): the piece it works on
        and, through it, the job's lease; the job's lease as its holder while it works on a job it claimed."""
        for job, index in list(self.working):
            if job == job_id:
                self.pieces.renew(job_id, index, self.task.worker, self.settings.lease_s)
                self.store.keep_alive(job_id, self.settings.lease_s)
        if job_id in self.claimed:
            self.store.renew_lease(job_id, self.task.worker, self.settings.lease_s)

    def process(self, payload: bytes) -> Outcome:
        try:
            request = TranscriptionRequest.from_json(payload)
        except PermanentError as err:
            log.error("malformed request dropped", extra=fields(code=err.code.value, reason=err.message))
            return Outcome.DONE
        return self.transcribe(request)

    def transcribe(self, request: TranscriptionRequest) -> Outcome:
        """Work on the job (or the piece) ``request`` names; what to do with its message."""
        if request.shard is not None:
            return self._take_piece(request, request.shard)
        claim = self.lifecycle.start(
            request.job_id, self.task.worker, self.settings.lease_s, self.max_attempts, {"routing": self._routing(request)}
        )
        if claim.outcome is ClaimOutcome.FINISHED:
            if claim.job is not None and claim.job.status is JobStatus.TRANSCRIBED and request.options.notes:
                # An earlier attempt may have died between the transition and the notes request.
                publish_notes_request(self.publisher, self.settings, NotesRequest(request.job_id))
            log.info("request for a finished job dropped", extra=fields(job_id=request.job_id))
            return Outcome.DONE
        if claim.outcome is ClaimOutcome.BUSY:
            return Outcome.RETRY_LATER
        if claim.outcome is ClaimOutcome.EXHAUSTED:
            return Outcome.DONE
        assert claim.job is not None
        self.claimed.add(request.job_id)
        try:
            self._plan_and_start(request, claim.job, claim.saved_plan)
        except PermanentError as err:
            self.lifecycle.fail(request.job_id, err.code, err.message)
        finally:
            self.claimed.discard(request.job_id)
        return Outcome.DONE

    def _routing(self, request: TranscriptionRequest, detection: dict[str, Any] | None = None) -> dict[str, Any]:
        """Which Cloud Run job ran the job, with which model (after language routing) at which priority."""
        requested = detection["model"] if detection and detection.get("routed_to") else None
        return routing_record(request.options, self.settings.job_name or None, requested)

    def pieces_for(self, duration_s: float) -> int:
        """How many pieces: one per task, each at least half of ``shard_min_s`` long; 1 = no split."""
        count = self.task.count
        return 1 if count < 2 else min(count, max_pieces(duration_s, self.settings.shard_min_s))

    def _plan_and_start(self, request: TranscriptionRequest, job: Job, saved_plan: dict[str, Any] | None) -> None:
        started_at, timings = time.time(), dict[str, float]()
        audio = fetch_and_decode(self.blobs, request, self.settings.max_duration_s, timings)
        mark = time.monotonic()
        # an earlier attempt's plan stays (read with the claim: while this worker's lease lives, no other saves one)
        plan = Plan.from_dict(saved_plan) if saved_plan else self._new_plan(job, audio, started_at)
        request, plan = decide_language(self.models, self.settings, request, audio, plan, timings)
        overlap = int(self.settings.shard_overlap_s * plan.rate)

        def piece_audio(index: int) -> PieceAudio:
            return cut(audio, max(0, plan.cuts[index] - overlap), min(audio.samples.shape[0], plan.cuts[index + 1] + overlap))

        if plan.pieces == 1:
            result = self._transcribe_piece(request, plan, 0, piece_audio(0))
            self._complete(request, plan, [result.transcript], result.speech_s, result.transcribe_s, {**timings}, started_at)
            return
        with telemetry.span("plan", **{"mixscribe.pieces": plan.pieces}):
            for index in range(1, plan.pieces):
                save_piece_audio(self.blobs, self.settings.results_bucket, request.job_id, index, piece_audio(index))
            timings["plan_s"] = time.monotonic() - mark
            plan = self.pieces.save_plan(request.job_id, replace(plan, timings={**plan.timings, **timings}))
            topic = self.settings.request_topic(request.options.priority)  # the pieces stay in the job's queue
            for index in range(1, plan.pieces):
                seconds = (plan.cuts[index + 1] - plan.cuts[index]) / plan.rate
                piece = replace(request, shard=index, audio_s=round(seconds, 3))
                publish_request(self.publisher, topic, piece.to_json(), request.job_id)
        log.info(
            "long job split",
            extra=fields(job_id=request.job_id, pieces=plan.pieces, cuts_s=[c / plan.rate for c in plan.cuts]),
        )
        self._work_on_piece(request, plan, 0, lambda: piece_audio(0))

    def _new_plan(self, job: Job, audio: DecodedAudio, started_at: float) -> Plan:
        count = self.pieces_for(audio.duration_s)
        cuts = [0] + [end for _, end in plan_bounds(audio.samples, MODEL_RATE, count)]
        return Plan(count, cuts, MODEL_RATE, base_metrics(job, audio), self.task.worker, started_at)

    def _take_piece(self, request: TranscriptionRequest, index: int) -> Outcome:
        """A piece request: the job must still be in transcription, its plan saved."""
        plan = self.pieces.plan(request.job_id)
        job = self.store.get(request.job_id)
        if plan is None or job is None or job.status not in (JobStatus.QUEUED, JobStatus.TRANSCRIBING) or index >= plan.pieces:
            log.info("piece of a finished or missing job dropped", extra=fields(job_id=request.job_id, piece=index))
            return Outcome.DONE
        bucket = self.settings.results_bucket
        try:
            if not self._work_on_piece(request, plan, index, lambda: load_piece_audio(self.blobs, bucket, request.job_id, index)):
                return Outcome.RETRY_LATER
        except PermanentError as err:
            self.lifecycle.fail(request.job_id, err.code, err.message)
        return Outcome.DONE

    def _work_on_piece(self, request: TranscriptionRequest, plan: Plan, index: int, samples: Callable[[], PieceAudio]) -> bool:
        """Claim piece ``index``, transcribe it, record it, complete the job if it was the last; False
        when another worker holds the piece."""
        claim = self.pieces.claim(request.job_id, index, self.task.worker, self.settings.lease_s)
        if claim.outcome is ClaimOutcome.BUSY:
            return False
        if claim.outcome is ClaimOutcome.CLAIMED:
            if claim.attempts > self.max_attempts:  # the job's attempts rule, per piece
                self.lifecycle.give_up(request.job_id, self.max_attempts, piece=index)
                return True
            self.working.add((request.job_id, index))
            try:
                self.store.keep_alive(request.job_id, self.settings.lease_s)
                result = self._transcribe_piece(request, plan, index, samples())
                uri = self.results.write(piece_path(request.job_id, index), result.transcript.to_json(), "application/json")
                self.pieces.finish(request.job_id, index, uri, result.speech_s, round(result.transcribe_s, 3))
            finally:
                self.working.discard((request.job_id, index))
        self._try_stitch(request, plan)
        return True

    def _transcribe_piece(self, request: TranscriptionRequest, plan: Plan, index: int, piece: PieceAudio) -> PieceResult:
        started = time.monotonic()
        tracker = piece_tracker(self.store, self.settings, request, plan, index, piece)
        transcript, speech_s = self.model_pass(request, piece, tracker)
        elapsed = time.monotonic() - started
        low, high = plan.cuts[index], plan.cuts[index + 1]
        core_share = (high - low) / max(1, piece.samples.shape[0])
        if plan.pieces > 1:
            log.info(
                "piece transcribed",
                extra=fields(
                    job_id=request.job_id,
                    piece=index,
                    seconds=round(piece.samples.shape[0] / plan.rate, 2),
                    transcribe_s=round(elapsed, 3),
                ),
            )
        return PieceResult(shift(transcript, piece.offset / plan.rate), speech_s * min(1.0, core_share), elapsed)

    def model_pass(
        self, request: TranscriptionRequest, piece: PieceAudio, progress: ProgressTracker | None = None
    ) -> tuple[Transcript, float]:
        """The transcript of ``piece`` (per speaker when the request names the channels)."""
        model = self.models.get(request.options.model)
        options = request.options
        diarizer = channel_diarizer(self.models.voice_encoder(), options) if options.diarize else None
        beam, batcher = self.settings.beam_size, self.batcher
        with telemetry.span("model", **{"mixscribe.model": options.model, "mixscribe.shard": request.shard}):
            if per_channel(piece, options.channels):
                assert piece.channel_samples is not None
                if batcher:
                    batcher.passes()
                return transcribe_channels(
                    model, request.job_id, piece.channel_samples, options.channels, options, beam, diarizer, progress
                )
            heard, pack = progress.listener() if progress else None, pack_of(request.name)
            if batcher:
                transcript, speech_s = batcher.transcribe(model, request.job_id, piece.samples, options, beam, heard, pack)
            else:
                transcript, speech_s = model.transcribe(request.job_id, piece.samples, options, beam, heard)
        if diarizer is not None:
            transcript = diarizer(piece.samples, transcript, "")
        return transcript, speech_s

    def _try_stitch(self, request: TranscriptionRequest, plan: Plan) -> None:
        """Complete a many-piece job when every piece is done (one caller wins the right to)."""
        pieces = self.pieces.pieces(request.job_id)
        if len(pieces) < plan.pieces or any(p.get("state") != "done" for p in pieces.values()):
            return
        if not self.pieces.begin_stitch(request.job_id, self.task.worker, self.settings.lease_s):
            return
        bucket = self.settings.results_bucket
        transcripts = [
            Transcript.from_dict(json.loads(self.blobs.read(bucket, piece_path(request.job_id, k)))) for k in range(plan.pieces)
        ]
        transcribe_s = max(float(p.get("transcribe_s", 0.0)) for p in pieces.values())  # the pieces ran side by side
        speech_s = sum(float(p.get("speech_s", 0.0)) for p in pieces.values())
        self._complete(request, plan, transcripts, speech_s, transcribe_s, dict(plan.timings), plan.started_at)
        for k in range(plan.pieces):  # the pieces served their purpose; readers see only the job's outputs
            self.blobs.delete(bucket, piece_path(request.job_id, k))
            self.blobs.delete(bucket, piece_audio_path(request.job_id, k))
        log.info("long job stitched", extra=fields(job_id=request.job_id, pieces=plan.pieces))

    def _complete(
        self,
        request: TranscriptionRequest,
        plan: Plan,
        transcripts: list[Transcript],
        speech_s: float,
        transcribe_s: float,
        timings: dict[str, float],
        started_at: float,
    ) -> None:
        """Stitch, write every output, then move the job forward and tell the world (outputs first)."""
        mark = time.monotonic()
        if len(transcripts) == 1:
            merged = transcripts[0]
        else:
            if request.options.diarize:
                transcripts = match_speakers(transcripts)
            merged = stitch(transcripts, [plan.core_s(k) for k in range(plan.pieces)], plan.metrics["duration_s"])
            timings["stitch_s"] = time.monotonic() - mark
        timings["transcribe_s"] = transcribe_s
        merged, guarded = apply_guards(merged)
        if request.options.diarize:
            merged = name_speakers(merged, keep=frozenset(request.options.channels))
            merged = replace(merged, options={**merged.options, RECORD: final_record(transcripts)})
            timings["diarize_s"] = merged.options[RECORD]["diarize_s"]
        extra: dict[str, str] = {}  # a redacted job's kept original and redacted audio
        if request.options.redact:
            with telemetry.span("redact"):
                engine = self.models.redaction_engine()
                merged, extra, timings["redact_s"] = redact_job(request, merged, engine, self.blobs, self.results, self.settings)
        merged = with_summary(merged)
        detection = plan.language_detection
        if detection:
            merged = replace(
                merged,
                language=detection["language"],
                language_probability=detection["probability"],
                options={**merged.options, "language_detection": detection},
            )
        mark = time.monotonic()
        with telemetry.span("write_outputs"):
            outputs = {**self.results.transcript(request.job_id, merged), **extra}
        model = self.models.get(request.options.model)
        metrics = job_metrics(plan.metrics, merged, speech_s, transcribe_s, self.models.placement, model.load_s, self.task)
        metrics["hallucinations"] = asdict(guarded)
        metrics["hallucination_share"] = guarded.share(len(merged.segments))
        metrics["arm"] = request.options.arm or None
        metrics["speakers"] = [asdict(s) for s in merged.speakers]
        if self.task_start is not None and not self._start_reported:
            metrics["task_start"] = {**self.task_start, "first_model_wait_s": self.models.first_wait_s}
            self._start_reported = True
        timings["write_s"] = time.monotonic() - mark
        timings["total_s"] = time.time() - started_at
        metrics["timings"] = {k: round(v, 3) for k, v in timings.items()}
        outputs["metrics"] = self.results.metrics(request.job_id, metrics)
        status = JobStatus.TRANSCRIBED if request.options.notes else JobStatus.DONE
        summary = {k: metrics[k] for k in SUMMARY_KEYS}
        transcribed = transcribed_event(metrics, outputs, merged)
        completed = (JobCompleted(status.value),) if status is JobStatus.DONE else ()
        try:
            fields_ = {
                "outputs": outputs,
                "metrics": summary,
                "routing": self._routing(request, detection),
                PROGRESS: finished(float(plan.metrics["duration_s"]), utcnow()),
            }
            job = self.lifecycle.move(request.job_id, status, fields_, transcribed, *completed)
        except TransitionRefused:
            log.warning("job moved on meanwhile; results kept", extra=fields(job_id=request.job_id))
            return
        if self.settings.result_cache:
            self.cache.remember(job)  # later uploads of the same bytes by the same owner reuse these outputs
        record_metrics(metrics, (job.updated_at - job.created_at).total_seconds())
        for kind, count in metrics["hallucinations"].items():
            if count:
                telemetry.HALLUCINATIONS.add(count, {"kind": kind, "model": metrics["model"]})
        if status is JobStatus.TRANSCRIBED:
            publish_notes_request(self.publisher, self.settings, NotesRequest(request.job_id))
        log.info(
            "job transcribed",
            extra=fields(job_id=request.job_id, status=status.value, rtf=metrics["real_time_factor"], **timings),
        )
