"""Dynamic batching: the short requests a task works on at once share the model's batches.

A task that takes several requests side by side (``MIXSCRIBE_CPU_BATCH_REQUESTS`` /
``GPU_BATCH_REQUESTS``, jobs/transcribe/worker.py) keeps each one's claim, lease, options, outputs
and ack. When one of them reaches the model with a short mono file (one the batch rule would decode
window after window), it hands its samples to the task's ``DynamicBatcher`` and waits. The batcher
gathers the requests that come together: it starts a batch when every request in flight has come to
the model (or taken another road), or when the first has waited ``gather_s``. It cuts each file's
speech into the model's windows exactly as faster-whisper's batched pipeline does for one file (VAD,
windows of up to 30 s of speech), lays the windows of all of them side by side in one array (each on
a whole second), and decodes them ``batch_size`` at a time. Every segment goes back to its request by
the window it came from, with the request's own timestamps. Requests that decode differently (model,
language, task, prompt, hotwords, temperature, beam) never share a batch; a batch that fails is
decoded again request by request, so a bad file fails alone. A request that comes alone is decoded
as its own batch rule says (window after window, its progress heard window by window).
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mixscribe.audio import MODEL_RATE
from mixscribe.glossary import correct_spellings
from mixscribe.jobs import JobOptions
from mixscribe.logs import fields
from mixscribe.transcript import Segment, Transcript

from .engine import SpeechModel, model_segment
from .languages import WINDOW_S

log = logging.getLogger(__name__)
Result = tuple[Transcript, float]  # the transcript and the speech seconds VAD kept


@dataclass(eq=False)
class Waiting:
    """One request's samples at the model, and what the batch gives back."""

    model: SpeechModel
    job_id: str
    samples: np.ndarray
    options: JobOptions
    beam_size: int
    on_segment: Callable[[Segment], None] | None
    key: str
    arrived: float
    result: Result | None = None
    error: BaseException | None = None
    done: bool = False


def batchable(model: SpeechModel, samples: np.ndarray, options: JobOptions, beam_size: int) -> bool:
    """Whether a request may share a batch: its language is known and its file is one the batch rule
    leaves to window-after-window decoding (a longer one fills batches on its own)."""
    decode, _ = model.decoding(options, samples.shape[0] / MODEL_RATE, beam_size)
    return decode.language is not None and decode.batch_size == 0


class Alone(Exception):
    """A batch of one request: nothing to share."""


class DynamicBatcher:
    """Gathers the model passes of the requests in flight into shared batches (see the module)."""

    def __init__(self, batch_size: int, gather_s: float) -> None:
        self.batch_size = batch_size
        self.gather_s = gather_s
        self._changed = threading.Condition()
        self._waiting: list[Waiting] = []
        self._expected = 0  # requests in flight that have not come to the model yet
        self._running = False
        self._local = threading.local()
        self.batches = 0  # batches decoded (for the bench and the logs)

    def expect(self) -> None:
        """A request was taken (the worker says so as it pulls it, before its thread starts): a batch
        may wait for it until it comes to the model; its thread then handles it within ``request``."""
        with self._changed:
            self._expected += 1

    @contextmanager
    def request(self) -> Iterator[None]:
        """Around the handling of a request announced by ``expect``, in the thread that handles it."""
        self._local.counted = True
        try:
            yield
        finally:
            self.passes()

    def passes(self) -> None:
        """This thread's request will not come to the batcher (another road, or done): wait no more for it."""
        if getattr(self._local, "counted", False):
            self._local.counted = False
            with self._changed:
                self._expected -= 1
                self._changed.notify_all()

    def transcribe(
        self,
        model: SpeechModel,
        job_id: str,
        samples: np.ndarray,
        options: JobOptions,
        beam_size: int,
        on_segment: Callable[[Segment], None] | None = None,
    ) -> Result:
        """``model.transcribe``'s result, decoded in a batch shared with the other requests in flight."""
        _, arguments = model.decoding(options, samples.shape[0] / MODEL_RATE, beam_size)
        key = repr((model.name, sorted(arguments.items())))
        entry = Waiting(model, job_id, samples, options, beam_size, on_segment, key, time.monotonic())
        self.passes()  # arrived: no batch waits for this request any longer
        with self._changed:
            self._waiting.append(entry)
            self._changed.notify_all()
            while not entry.done:
                batch = None if self._running else self._take()
                if batch is None:
                    self._changed.wait(timeout=max(0.01, self.gather_s / 4))
                    continue
                self._running = True
                self._changed.release()
                try:
                    self._run(batch)
                finally:
                    self._changed.acquire()
                    self._running = False
                    self._changed.notify_all()
        if entry.error is not None:
            raise entry.error
        assert entry.result is not None
        return entry.result

    def _take(self) -> list[Waiting] | None:
        """The next batch (the oldest request and those that decode like it), when it is time for one."""
        if not self._waiting:
            return None
        oldest = self._waiting[0]
        if self._expected > 0 and time.monotonic() - oldest.arrived < self.gather_s:
            return None  # requests in flight are still on their way (download, decode)
        batch = [w for w in self._waiting if w.key == oldest.key]
        self._waiting = [w for w in self._waiting if w.key != oldest.key]
        return batch

    def _run(self, batch: list[Waiting]) -> None:
        started = time.monotonic()
        try:
            if len(batch) == 1:  # alone, a request is decoded as its own rule says (window after window, live)
                raise Alone
            results = decode_together(batch, self.batch_size)
            for entry, result in zip(batch, results):
                entry.result = result
        except Exception as exc:
            if not isinstance(exc, Alone):
                log.warning("shared batch failed; its requests decoded one by one", exc_info=True)
            for entry in batch:
                try:
                    entry.result = entry.model.transcribe(
                        entry.job_id, entry.samples, entry.options, entry.beam_size, entry.on_segment
                    )
                except Exception as exc:  # this request's own failure, reported to its own thread
                    entry.error = exc
        finally:
            for entry in batch:
                entry.done = True
        self.batches += 1
        audio_s = sum(entry.samples.shape[0] for entry in batch) / MODEL_RATE
        log.info(
            "shared batch decoded",
            extra=fields(requests=len(batch), audio_s=round(audio_s, 2), seconds=round(time.monotonic() - started, 3)),
        )


@dataclass(frozen=True)
class Window:
    """One window of speech of one request, placed in the shared array."""

    request: int
    speech_offset_s: float  # where it starts in its request's speech (silences removed)
    shared_start_s: int  # where it starts in the shared array


def vad_windows(samples: np.ndarray) -> tuple[list[dict[str, int]], list[np.ndarray], list[dict[str, Any]]]:
    """The file's speech (VAD) and its windows of up to ``WINDOW_S``: what the batched pipeline cuts."""
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    speech = get_speech_timestamps(samples, VadOptions(max_speech_duration_s=WINDOW_S, min_silence_duration_ms=160))
    if not speech:
        return [], [], []
    windows, metadata = collect_chunks(samples, speech, max_duration=WINDOW_S)
    return speech, windows, metadata


def decode_together(batch: list[Waiting], batch_size: int) -> list[Result]:
    """Each request's transcript, its speech windows decoded in shared batches of ``batch_size``."""
    from faster_whisper.transcribe import restore_speech_timestamps

    model = batch[0].model
    _, arguments = model.decoding(batch[0].options, 0.0, batch[0].beam_size)  # one key: the same for all
    speech, windows, parts, clips, cursor = [], list[Window](), list[np.ndarray](), [], 0
    for index, entry in enumerate(batch):
        stamps, pieces, metadata = vad_windows(entry.samples)
        speech.append(stamps)
        for piece, meta in zip(pieces, metadata):
            start_s = math.ceil(cursor / MODEL_RATE)  # whole seconds: the pipeline's offsets stay exact
            parts += [np.zeros(start_s * MODEL_RATE - cursor, np.float32), piece.astype(np.float32)]
            cursor = start_s * MODEL_RATE + piece.shape[0]
            windows.append(Window(index, float(meta["offset"]), start_s))
            clips.append({"start": start_s, "end": cursor / MODEL_RATE})
    found: list[list[Segment]] = [[] for _ in batch]
    if clips:
        starts = [w.shared_start_s for w in windows]
        shared = np.concatenate(parts)
        segments, _ = model.batched("shared").transcribe(shared, clip_timestamps=clips, batch_size=batch_size, **arguments)
        for seg in segments:
            window = windows[bisect.bisect_right(starts, seg.start + 1e-6) - 1]
            _move(seg, window.speech_offset_s - window.shared_start_s)
            (restored,) = restore_speech_timestamps([seg], speech[window.request], MODEL_RATE)
            mine = found[window.request]
            mine.append(model_segment(restored, len(mine)))
            entry = batch[window.request]
            if entry.on_segment is not None:
                entry.on_segment(correct_spellings(mine[-1:], entry.options.glossary)[0])
    results = []
    for index, entry in enumerate(batch):
        decode, _ = model.decoding(entry.options, entry.samples.shape[0] / MODEL_RATE, entry.beam_size)
        record = {**asdict(decode), "inference": "dynamic", "batch_size": batch_size, "batch_requests": len(batch)}
        language = (str(arguments["language"]), 1.0)  # a known language (``batchable``), as faster-whisper reports it
        duration_s = entry.samples.shape[0] / MODEL_RATE
        transcript = model.assemble(entry.job_id, entry.samples, entry.options, record, found[index], language, duration_s)
        speech_s = sum(s["end"] - s["start"] for s in speech[index]) / MODEL_RATE
        results.append((transcript, speech_s))
    return results


def _move(seg: Any, delta_s: float) -> None:
    """Shift one of faster-whisper's segments (and its words) by ``delta_s``, in place."""
    seg.start += delta_s
    seg.end += delta_s
    for word in seg.words or ():
        word.start += delta_s
        word.end += delta_s
