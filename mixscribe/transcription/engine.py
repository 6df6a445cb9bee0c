"""The speech model: faster-whisper loaded once per task, on the GPU when one is present."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mixscribe.audio import MODEL_RATE
from mixscribe.config import Settings
from mixscribe.errors import ErrorCode, PermanentError
from mixscribe.glossary import correct_spellings, decoding_hotwords
from mixscribe.jobs import JobOptions
from mixscribe.logs import fields
from mixscribe.transcript import Segment, Transcript, Word

from .guards import flag_segments
from .languages import MIN_SPEECH_S, WINDOW_S

log = logging.getLogger(__name__)


def temperatures_from(first: float) -> tuple[float, ...]:
    """Whisper's fallback schedule: ``first``, then up by 0.2 while the output fails its checks, to 1.0."""
    steps = int((1.0 - first) / 0.2 + 1e-9)
    return tuple(round(first + 0.2 * i, 2) for i in range(steps + 1))


@dataclass(frozen=True)
class DecodeOptions:
    """Decoding settings saved next to every transcript they produced."""

    beam_size: int = 5
    vad_filter: bool = True
    word_timestamps: bool = True
    condition_on_previous_text: bool = True
    language: str | None = None
    inference: str = "sequential"  # or "batched" (BatchedInferencePipeline), chosen by the task's BatchRule
    batch_size: int = 0
    batch_min_s: float = 0.0  # the rule's threshold when it was applied (files this long or longer batch)


@dataclass(frozen=True)
class Placement:
    """Where the model runs: device and CTranslate2 compute type."""

    device: str
    compute_type: str
    cpu_threads: int


def available_cpus(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """The CPUs this task may use: its cgroup's CPU quota (a Cloud Run task's vCPUs), else its affinity.

    ``os.cpu_count()`` counts the host's cores, which a container on Cloud Run does not have.
    """
    quotas = []
    try:  # cgroup v2: "max 100000" or "400000 100000"
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
        if quota != "max":
            quotas.append(int(quota) / int(period))
    except (OSError, ValueError):
        try:  # cgroup v1
            quota_us = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
            period_us = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
            if quota_us > 0:
                quotas.append(quota_us / period_us)
        except (OSError, ValueError):
            pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min([affinity, *(math.ceil(q) for q in quotas)]))


def choose_placement(settings: Settings, cuda_devices: int, cpus: int) -> Placement:
    """CUDA float16 when a GPU is present, else CPU int8 on the task's own CPUs.

    ``cpus`` is what this task has (``available_cpus``); ``MIXSCRIBE_CPU_THREADS`` overrides it (the
    local stack's tasks share one machine and are told their share).
    """
    device = settings.device
    if device == "auto":
        device = "cuda" if cuda_devices > 0 else "cpu"
    compute = settings.compute_type
    if compute == "auto":
        compute = "float16" if device == "cuda" else "int8"
    threads = (settings.cpu_threads or cpus) if device == "cpu" else 0
    return Placement(device, compute, threads)


def resolve_model_path(name: str, settings: Settings) -> Path:
    """The baked folder of a registry model, ``MODEL_ROOT/<name>`` (``model_unavailable`` without it)."""
    registry = settings.models()
    if name not in registry.models:
        raise PermanentError(ErrorCode.MODEL_UNAVAILABLE, f"model {name!r} is not in this deployment's registry")
    missing = registry.models[name].missing_files(Path(settings.model_root))
    if missing:
        raise PermanentError(
            ErrorCode.MODEL_UNAVAILABLE, f"model {name!r} is not installed in this image (missing {', '.join(missing)})"
        )
    return Path(settings.model_root) / name


@dataclass(frozen=True)
class BatchRule:
    """When a task transcribes through faster-whisper's batched pipeline (speech windows of up to 30 s
    decoded ``size`` at a time, each without the previous window's text) instead of window after window:
    files of at least ``min_audio_s``. Measured per device by ``make bench`` (bench/batched_inference.py):
    a file shorter than a few windows gains nothing, a longer one gains most of the cores' idle width."""

    size: int
    min_audio_s: float
    requests: int = 1  # requests a task works on side by side, shorter files sharing batches (dynamic_batching)

    @classmethod
    def for_device(cls, settings: Settings, device: str) -> BatchRule:
        if device == "cuda":
            return cls(settings.gpu_batch_size, settings.gpu_batch_min_s, settings.gpu_batch_requests)
        return cls(settings.cpu_batch_size, settings.cpu_batch_min_s, settings.cpu_batch_requests)

    def batch_size(self, audio_s: float) -> int:
        """0 (window after window) or the batch size for a file of ``audio_s``."""
        return self.size if self.size > 0 and audio_s >= self.min_audio_s else 0


class SpeechModel:
    """One loaded Whisper model; ``transcribe`` turns 16 kHz mono samples into a Transcript."""

    def __init__(self, name: str, path: Path, placement: Placement, rule: BatchRule | None = None) -> None:
        from faster_whisper import WhisperModel

        started = time.monotonic()
        self.name = name
        self.placement = placement
        self.rule = rule or BatchRule(0, 0.0)
        self._model = WhisperModel(
            str(path),
            device=placement.device,
            compute_type=placement.compute_type,
            cpu_threads=placement.cpu_threads,
            local_files_only=True,
        )
        self.load_s = time.monotonic() - started
        self._pipelines: dict[str, Any] = {}
        log.info("model loaded", extra=fields(model=name, load_s=round(self.load_s, 3), **asdict(placement)))

    @property
    def multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    def language_probabilities(self, samples: np.ndarray) -> dict[str, float] | None:
        """Language → probability from one window's speech (its first ``WINDOW_S``); None without speech."""
        from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

        chunks = get_speech_timestamps(samples, VadOptions())
        if sum(c["end"] - c["start"] for c in chunks) < MIN_SPEECH_S * MODEL_RATE:
            return None
        speech = np.concatenate(collect_chunks(samples, chunks)[0])[: int(WINDOW_S * MODEL_RATE)]
        _, _, probabilities = self._model.detect_language(audio=speech)
        return {language: float(p) for language, p in probabilities}

    def batched(self, user: str = "files") -> Any:
        """faster-whisper's batched pipeline on this model, one per user (it keeps a little state between
        batches of one call: a long file's batches and the shared batches of short files run side by side)."""
        from faster_whisper import BatchedInferencePipeline

        if user not in self._pipelines:
            self._pipelines[user] = BatchedInferencePipeline(model=self._model)
        return self._pipelines[user]

    def decoding(self, options: JobOptions, audio_s: float, beam_size: int) -> tuple[DecodeOptions, dict[str, Any]]:
        """How a file of ``audio_s`` with ``options`` is decoded: the recorded settings and faster-whisper's
        arguments (those every path shares: sequential, batched, batched across requests)."""
        batch = self.rule.batch_size(audio_s)
        decode = DecodeOptions(
            beam_size=beam_size,
            language=None if options.language == "auto" else options.language,
            inference="batched" if batch else "sequential",
            batch_size=batch,
            batch_min_s=self.rule.min_audio_s if batch else 0.0,
        )
        arguments: dict[str, Any] = dict(
            language=decode.language,
            beam_size=decode.beam_size,
            word_timestamps=decode.word_timestamps,
            initial_prompt=options.prompt or None,
            hotwords=decoding_hotwords(options.hotwords, options.glossary) or None,
            task=options.task,
            temperature=temperatures_from(options.temperature),
        )
        return decode, arguments

    def transcribe(
        self,
        job_id: str,
        samples: np.ndarray,
        options: JobOptions,
        beam_size: int,
        on_segment: Callable[[Segment], None] | None = None,
    ) -> tuple[Transcript, float]:
        """The transcript and the speech seconds that VAD kept; ``on_segment`` hears each segment as the
        model yields it (spellings of the glossary already fixed), for live progress."""
        decode, arguments = self.decoding(options, samples.shape[0] / MODEL_RATE, beam_size)
        common = {**arguments, "vad_filter": decode.vad_filter, "condition_on_previous_text": decode.condition_on_previous_text}
        if decode.batch_size:
            segments_iter, info = self.batched().transcribe(samples, batch_size=decode.batch_size, **common)
        else:
            segments_iter, info = self._model.transcribe(samples, **common)
        segments: list[Segment] = []
        for seg in segments_iter:
            segments.append(model_segment(seg, len(segments)))
            if on_segment is not None:
                on_segment(correct_spellings(segments[-1:], options.glossary)[0])
        language = (info.language, info.language_probability)
        transcript = self.assemble(job_id, samples, options, asdict(decode), segments, language, info.duration)
        return transcript, float(info.duration_after_vad)

    def assemble(
        self,
        job_id: str,
        samples: np.ndarray,
        options: JobOptions,
        decode: dict[str, Any],
        segments: list[Segment],
        language: tuple[str, float],
        duration_s: float,
    ) -> Transcript:
        """The transcript of the model's segments: the glossary's spellings, the guards' flags, the record
        of how it was decoded."""
        segments = flag_segments(correct_spellings(segments, options.glossary), samples)
        recorded: dict[str, Any] = {**decode, **asdict(self.placement), "job_options": options.public_dict()}
        return Transcript(
            job_id=job_id,
            language=language[0],
            language_probability=round(language[1], 4),
            duration_s=round(duration_s, 3),
            model=self.name,
            options=recorded,
            segments=tuple(segments),
        )


def model_segment(seg: Any, index: int) -> Segment:
    """Our segment of one of faster-whisper's (rounded, words kept)."""
    words = tuple(
        Word(round(float(w.start), 3), round(float(w.end), 3), w.word, round(float(w.probability), 4)) for w in seg.words or ()
    )
    return Segment(
        id=index,
        start=round(float(seg.start), 3),
        end=round(float(seg.end), 3),
        text=seg.text.strip(),
        avg_logprob=round(float(seg.avg_logprob), 4),
        no_speech_prob=round(float(seg.no_speech_prob), 4),
        temperature=float(seg.temperature or 0.0),
        compression_ratio=round(float(seg.compression_ratio), 4),
        seek=int(seg.seek),
        words=words,
    )


class ModelsMissing(RuntimeError):
    """The image lacks models its registry promises to the task's job class."""


def check_baked_models(settings: Settings) -> None:
    """Refuse to start a task whose image lacks a model the registry promises its job class."""
    missing = settings.models().missing(Path(settings.model_root), settings.job_class())
    if missing:
        detail = "; ".join(f"{name}: {', '.join(files)}" for name, files in sorted(missing.items()))
        raise ModelsMissing(
            f"registry {settings.model_registry!r} promises models missing under {settings.model_root}: {detail}"
            " (bake them: scripts/bake_models.py)"
        )


class ModelCache:
    """Models by name, each loaded on first use and kept for the task's life; the registry's models
    for this task's job class must be baked (checked at start)."""

    def __init__(self, settings: Settings) -> None:
        import ctranslate2

        check_baked_models(settings)
        self.settings = settings
        self.placement = choose_placement(settings, ctranslate2.get_cuda_device_count(), available_cpus())
        self._models: dict[str, SpeechModel] = {}
        self._loading = threading.Lock()  # one load per model, whoever asks first (the preload or a request)
        self.first_wait_s: float | None = None  # how long the task's first request waited for its model
        self._encoder: Any = None
        self._redaction: Any = None

    def voice_encoder(self) -> Any:
        """The speaker encoder (mixscribe.diarization), loaded on the first diarized job and kept."""
        if self._encoder is None:
            from mixscribe.diarization.encoder import VoiceEncoder

            self._encoder = VoiceEncoder(threads=self.placement.cpu_threads or available_cpus())
        return self._encoder

    def redaction_engine(self) -> Any:
        """The engine that finds personal data (mixscribe.redaction), made on the first redacted job."""
        if self._redaction is None:
            from mixscribe.gcp.dlp import DlpEngine
            from mixscribe.redaction.engines import PresidioEngine

            dlp = self.settings.redaction_engine == "dlp"
            self._redaction = DlpEngine(self.settings.project) if dlp else PresidioEngine()
        return self._redaction

    def get(self, name: str) -> SpeechModel:
        """The model a request asks for (loaded now, or waited for while the preload loads it)."""
        started = time.monotonic()
        model = self._load(name)
        if self.first_wait_s is None:
            self.first_wait_s = round(time.monotonic() - started, 3)
        return model

    def _load(self, name: str) -> SpeechModel:
        with self._loading:
            if name not in self._models:
                rule = BatchRule.for_device(self.settings, self.placement.device)
                self._models[name] = SpeechModel(name, resolve_model_path(name, self.settings), self.placement, rule)
            return self._models[name]

    def preload(self, name: str) -> threading.Thread:
        """Load ``name`` in the background, so a new task's first request finds it ready; a request
        that comes first waits for the same load. A failed preload only logs: the request loads again
        and reports its own error."""

        def load() -> None:
            try:
                self._load(name)
            except Exception:
                log.warning("preload failed", exc_info=True, extra=fields(model=name))

        thread = threading.Thread(target=load, name="preload", daemon=True)
        thread.start()
        return thread
