"""One transcription request, start to finish: claim, fetch, decode, transcribe, publish results.

Outputs are written to the results bucket before the job's status moves, so a reader who sees
``transcribed`` or ``done`` always finds every output; a crash before that leaves the job
``transcribing`` with an expiring lease, and the redelivered request takes it over.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from typing import Any

from mixscribe import layout, telemetry
from mixscribe.audio import DecodedAudio, decode_audio
from mixscribe.config import Settings
from mixscribe.errors import ErrorCode, PermanentError, TransitionRefused
from mixscribe.events import EventSink, make_event
from mixscribe.jobs import JobStatus
from mixscribe.logs import fields
from mixscribe.ports import BlobMissing, Blobs, Publisher
from mixscribe.requests import NotesRequest, TranscriptionRequest, publish_notes_request
from mixscribe.store import ClaimOutcome, JobStore
from mixscribe.transcript import Transcript

from .engine import ModelCache
from .outcome import Outcome, TaskIdentity
from .sharding import ShardedTranscription
from .speakers import transcribe_channels

log = logging.getLogger(__name__)
SOURCE = "jobs/transcribe"


class TranscriptionPipeline:
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
        self.blobs = blobs
        self.publisher = publisher
        self.events = events
        self.models = models
        self.task = task
        self.max_attempts = max_attempts
        self.sharded = ShardedTranscription(self)
        self.claimed: str | None = None  # the job this worker holds the lease of, while it works on it

    def renew(self, job_id: str) -> None:
        """Keep this worker's claims alive (called by the worker's heartbeat): the job's lease while
        it works on a job it claimed (the planner's piece 0 too), and the lease of the piece it works on."""
        if self.sharded.current is not None:
            self.sharded.renew()
        if self.claimed == job_id:
            self.store.renew_lease(job_id, self.task.worker, self.settings.lease_s)

    def process(self, payload: bytes) -> Outcome:
        try:
            request = TranscriptionRequest.from_json(payload)
        except PermanentError as err:
            log.error("malformed request dropped", extra=fields(code=err.code.value, reason=err.message))
            return Outcome.DONE
        if request.shard is not None:
            return self.sharded.process_piece(request)
        claim = self.store.claim(request.job_id, self.task.worker, self.settings.lease_s)
        if claim.outcome is ClaimOutcome.FINISHED:
            if claim.job is not None and claim.job.status is JobStatus.TRANSCRIBED and request.options.notes:
                # An earlier attempt may have died between the transition and the notes request.
                self._request_notes(request.job_id)
            log.info("request for a finished job dropped", extra=fields(job_id=request.job_id))
            return Outcome.DONE
        if claim.outcome is ClaimOutcome.BUSY:
            return Outcome.RETRY_LATER
        assert claim.job is not None
        if claim.job.attempts > self.max_attempts:
            self.fail(request.job_id, ErrorCode.RETRIES_EXHAUSTED, f"gave up after {self.max_attempts} attempts")
            log.critical("job failed after exhausting retries", extra=fields(job_id=request.job_id, alert=True))
            return Outcome.DONE
        self.events.emit(
            make_event(
                "job.started",
                request.job_id,
                SOURCE,
                {"attempt": claim.job.attempts, "worker": self.task.worker},
                discriminator=str(claim.job.attempts),
            )
        )
        self.claimed = request.job_id
        try:
            self._transcribe(request)
        except PermanentError as err:
            self.fail(request.job_id, err.code, err.message)
        finally:
            self.claimed = None
        return Outcome.DONE

    def _transcribe(self, request: TranscriptionRequest) -> None:
        timings: dict[str, float] = {}
        started = time.monotonic()
        audio = self.load(request, timings)
        pieces = self.sharded.pieces_for(audio.duration_s)
        if pieces > 1:
            self.sharded.run_planned(request, audio, pieces, self.base_metrics(request.job_id, audio))
            return
        mark = time.monotonic()
        transcript, speech_s = self.model_pass(request, audio.samples, audio.channel_samples)
        timings["transcribe_s"] = time.monotonic() - mark
        self.finish(request, transcript, self.base_metrics(request.job_id, audio), speech_s, timings, started)

    def load(self, request: TranscriptionRequest, timings: dict[str, float]) -> DecodedAudio:
        """Download and decode the request's object (every channel too when it names speakers)."""
        started = time.monotonic()
        with tempfile.NamedTemporaryFile(prefix="mixscribe-", suffix=".audio") as tmp:
            try:
                with telemetry.span("download", **{"gcs.object": f"gs://{request.bucket}/{request.name}"}):
                    self.blobs.download(request.bucket, request.name, tmp.name, request.generation)
            except BlobMissing as exc:
                raise PermanentError(ErrorCode.SOURCE_MISSING, "the upload was deleted or replaced") from exc
            timings["download_s"] = time.monotonic() - started
            mark = time.monotonic()
            split = len(request.options.channels) > 1
            with telemetry.span("decode"):
                audio = decode_audio(tmp.name, self.settings.max_duration_s, split_channels=split)
            timings["decode_s"] = time.monotonic() - mark
        return audio

    def model_pass(self, request: TranscriptionRequest, samples: Any, channel_samples: Any) -> tuple[Transcript, float]:
        """The transcript of ``samples`` (per speaker when the request names the channels)."""
        model = self.models.get(request.options.model)
        speakers = request.options.channels
        with telemetry.span("model", **{"mixscribe.model": request.options.model, "mixscribe.shard": request.shard}):
            if len(speakers) > 1 and channel_samples is not None and channel_samples.shape[0] >= len(speakers):
                return transcribe_channels(
                    model, request.job_id, channel_samples, speakers, request.options, self.settings.beam_size
                )
            return model.transcribe(request.job_id, samples, request.options, self.settings.beam_size)

    def base_metrics(self, job_id: str, audio: DecodedAudio) -> dict[str, Any]:
        """What ``metrics.json`` says about the audio itself (computed from the whole file)."""
        job = self.store.get(job_id)
        probe = (job.probe or {}) if job else {}
        return {
            "job_id": job_id,
            "duration_s": round(audio.duration_s, 3),
            "sample_rate": audio.source_rate,
            "channels": audio.channels,
            "codec": probe.get("codec"),
            "container": probe.get("container"),
            "loudness_lufs": audio.levels.integrated_lufs,
            "true_peak_dbtp": audio.levels.true_peak_dbtp,
            "sample_peak_dbfs": audio.levels.sample_peak_dbfs,
            "rms_dbfs": audio.levels.rms_dbfs,
            "clipping_ratio": audio.levels.clipping_ratio,
        }

    def finish(
        self,
        request: TranscriptionRequest,
        transcript: Transcript,
        base: dict[str, Any],
        speech_s: float,
        timings: dict[str, float],
        started: float,
    ) -> None:
        """Write every output, then move the job forward and tell the world (outputs first, always)."""
        mark = time.monotonic()
        with telemetry.span("write_outputs"):
            outputs = self._write_transcript(request.job_id, transcript)
        duration = base["duration_s"]
        model = self.models.get(request.options.model)
        metrics = {
            **base,
            "speech_s": round(speech_s, 3),
            "speech_ratio": round(min(1.0, speech_s / duration), 4) if duration else 0.0,
            "word_count": len(transcript.text.split()),
            "segment_count": len(transcript.segments),
            "language": transcript.language,
            "model": transcript.model,
            "device": self.models.placement.device,
            "compute_type": self.models.placement.compute_type,
            "model_load_s": round(model.load_s, 3),
            "real_time_factor": round(timings["transcribe_s"] / duration, 4) if duration and "transcribe_s" in timings else None,
            "worker": {"task_index": self.task.index, "task_count": self.task.count, "attempt": self.task.attempt},
        }
        timings["write_s"] = time.monotonic() - mark
        timings["total_s"] = time.monotonic() - started
        metrics["timings"] = {k: round(v, 3) for k, v in timings.items()}
        outputs["metrics"] = self.write_result(
            layout.metrics_path(request.job_id), json.dumps(metrics, indent=2, default=str), "application/json"
        )
        status = JobStatus.TRANSCRIBED if request.options.notes else JobStatus.DONE
        summary = {k: metrics[k] for k in ("duration_s", "language", "word_count", "real_time_factor", "speech_ratio")}
        try:
            job = self.store.transition(request.job_id, status, {"outputs": outputs, "metrics": summary})
        except TransitionRefused:
            log.warning("job moved on meanwhile; results kept", extra=fields(job_id=request.job_id))
            return
        self._record_metrics(metrics, (job.updated_at - job.created_at).total_seconds())
        attrs = {
            **summary,
            "outputs": outputs,
            "loudness_lufs": metrics["loudness_lufs"],
            "clipping_ratio": metrics["clipping_ratio"],
            "timings": metrics["timings"],
        }
        self.events.emit(make_event("job.transcribed", request.job_id, SOURCE, attrs))
        if status is JobStatus.DONE:
            self.events.emit(make_event("job.completed", request.job_id, SOURCE, {"status": status.value}))
        else:
            self._request_notes(request.job_id)
        log.info(
            "job transcribed",
            extra=fields(job_id=request.job_id, status=status.value, rtf=metrics["real_time_factor"], **timings),
        )

    def _record_metrics(self, metrics: dict[str, Any], since_upload_s: float) -> None:
        for stage, seconds in metrics["timings"].items():
            if stage != "total_s":
                telemetry.STAGE_SECONDS.record(seconds, {"stage": stage.removesuffix("_s")})
        if metrics["real_time_factor"] is not None:
            telemetry.REAL_TIME_FACTOR.record(
                metrics["real_time_factor"], {"device": metrics["device"], "model": metrics["model"]}
            )
        if metrics["duration_s"]:
            telemetry.TIME_PER_AUDIO_MINUTE.record(since_upload_s / (metrics["duration_s"] / 60), {"model": metrics["model"]})

    def _request_notes(self, job_id: str) -> None:
        publish_notes_request(self.publisher, self.settings, NotesRequest(job_id))

    def _write_transcript(self, job_id: str, transcript: Transcript) -> dict[str, str]:
        renderings = {
            "json": transcript.to_json(),
            "srt": transcript.to_srt(),
            "vtt": transcript.to_vtt(),
            "txt": transcript.to_txt(),
        }
        return {
            fmt: self.write_result(layout.transcript_path(job_id, fmt), body, layout.CONTENT_TYPES[fmt])
            for fmt, body in renderings.items()
        }

    def write_result(self, path: str, body: str, content_type: str) -> str:
        bucket = self.settings.results_bucket
        self.blobs.write(bucket, path, body.encode("utf-8"), content_type)
        return layout.gs_uri(bucket, path)

    def fail(self, job_id: str, code: ErrorCode, message: str) -> None:
        try:
            self.store.transition(job_id, JobStatus.FAILED, {"error": {"code": code.value, "message": message}})
        except TransitionRefused:
            return
        log.warning("job failed", extra=fields(job_id=job_id, code=code.value, reason=message))
        self.events.emit(make_event("job.failed", job_id, SOURCE, {"code": code.value, "message": message}))
