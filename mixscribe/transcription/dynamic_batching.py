"""Dynamic batching: the short requests a task works on at once share the model's batches.

A task that takes several requests side by side (``MIXSCRIBE_CPU_BATCH_REQUESTS`` /
``GPU_BATCH_REQUESTS``, jobs/transcribe/worker.py) keeps each one's claim, lease, options, outputs
and ack. When one of them reaches the model with a short mono file (one the batch rule would decode
window after window), it hands its samples to the task's ``DynamicBatcher`` and waits. The batcher
gathers the requests that come together: it starts a batch when every request in flight has come to
the model (or taken another road), or when the first has waited ``gather_s``. It finds each file's
speech as faster-whisper's batched pipeline does (VAD, stretches of up to 30 s) and fills the model's
30 s windows with it: a short file's speech takes a few seconds of a window, and Whisper pays for the
whole window, so one owner's requests share windows (``GAP_S`` of silence between two requests);
another owner's speech starts a new window, so no window mixes owners. The windows are decoded
``batch_size`` at a time; every word goes back to the request whose stretch holds it (a segment that
spans two requests is split between them at its words), with that request's own timestamps.
Requests that decode differently (model, language, task, prompt, hotwords, temperature, beam) never
share a batch; a batch that fails is decoded again request by request, so a bad file fails alone. A
request that comes alone is decoded as its own batch rule says (window after window, its progress
heard window by window).
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
from mixscribe.jobs import ANONYMOUS, JobOptions, owner_for
from mixscribe.logs import fields
from mixscribe.transcript import Segment, Transcript

from .engine import SpeechModel, model_segment
from .languages import WINDOW_S

log = logging.getLogger(__name__)
GAP_S = 1.0  # silence between two requests' speech in a shared window
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
    pack: str  # requests of one pack (one owner) may share a window; others only a batch
    arrived: float
    result: Result | None = None
    error: BaseException | None = None
    done: bool = False


def pack_of(object_name: str) -> str:
    """The pack an upload's request may share windows in: its owner's (none for an unknown owner)."""
    owner = owner_for(object_name)
    return "" if owner == ANONYMOUS else owner


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

    def model_pass(
        self,
        model: SpeechModel,
        job_id: str,
        samples: np.ndarray,
        options: JobOptions,
        beam_size: int,
        on_segment: Callable[[Segment], None] | None,
        pack: str,
    ) -> Result:
        """A mono file's model pass: in a shared batch when it may share one (``batchable``), else by
        its own rule (no batch waits for it then)."""
        if batchable(model, samples, options, beam_size):
            return self.transcribe(model, job_id, samples, options, beam_size, on_segment, pack)
        self.passes()
        return model.transcribe(job_id, samples, options, beam_size, on_segment)

    def transcribe(
        self,
        model: SpeechModel,
        job_id: str,
        samples: np.ndarray,
        options: JobOptions,
        beam_size: int,
        on_segment: Callable[[Segment], None] | None = None,
        pack: str = "",
    ) -> Result:
        """``model.transcribe``'s result, decoded in a batch shared with the other requests in flight;
        requests of one ``pack`` (one owner's; empty: this request alone) may share the model's windows."""
        _, arguments = model.decoding(options, samples.shape[0] / MODEL_RATE, beam_size)
        key = repr((model.name, sorted(arguments.items())))
        entry = Waiting(model, job_id, samples, options, beam_size, on_segment, key, pack or job_id, time.monotonic())
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
class Piece:
    """A stretch of one request's speech in the shared array."""

    request: int
    shared_start: int  # sample in the shared array
    length: int
    speech_offset: int  # sample in its request's speech (silences removed)

    @property
    def shared_end(self) -> int:
        return self.shared_start + self.length


@dataclass
class SharedLayout:
    """The batch's speech laid out in windows of up to ``WINDOW_S``, each starting on a whole second."""

    speech: list[list[dict[str, int]]]  # each request's VAD speech (samples of its file)
    pieces: list[Piece]
    clips: list[dict[str, float]]  # the windows, seconds of the shared array (the batched pipeline's clip_timestamps)
    samples: np.ndarray


def speech_of(samples: np.ndarray) -> list[dict[str, int]]:
    """The file's speech as the batched pipeline finds it (VAD, stretches of up to ``WINDOW_S``)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return list(get_speech_timestamps(samples, VadOptions(max_speech_duration_s=WINDOW_S, min_silence_duration_ms=160)))


def lay_out(batch: list[Waiting]) -> SharedLayout:
    """Fill windows with the requests' speech, in order: a request's stretches back to back as the batched
    pipeline joins them, ``GAP_S`` of silence before another request's. Requests of one pack (one owner)
    share windows; another pack starts a new window, so no window holds two owners' speech."""
    capacity, gap = int(WINDOW_S * MODEL_RATE), int(GAP_S * MODEL_RATE)
    speech = [speech_of(entry.samples) for entry in batch]
    order = sorted(range(len(batch)), key=lambda i: batch[i].pack)  # stable: arrival order within a pack
    windows: list[list[tuple[int, np.ndarray, int]]] = []  # (request, samples, speech offset) per window
    fill, last = capacity, ("", -1)  # no pack is empty (``transcribe``)
    for index in order:
        offset = 0
        for stamp in speech[index]:
            chunk = batch[index].samples[stamp["start"] : stamp["end"]]
            same_pack, same_request = last[0] == batch[index].pack, last[1] == index
            needed = chunk.shape[0] + (0 if same_request else gap)
            if not same_pack or fill + needed > capacity:
                windows.append([])
                fill, needed = 0, chunk.shape[0]
            windows[-1].append((index, chunk, offset))
            fill += needed
            offset += chunk.shape[0]
            last = (batch[index].pack, index)
    parts: list[np.ndarray] = []
    pieces, clips, cursor = [], [], 0
    for window in windows:
        start = math.ceil(cursor / MODEL_RATE) * MODEL_RATE  # whole seconds: the pipeline's offsets stay exact
        parts.append(np.zeros(start - cursor, np.float32))
        cursor, previous = start, None
        for index, chunk, offset in window:
            if previous is not None and previous != index:
                parts.append(np.zeros(gap, np.float32))
                cursor += gap
            pieces.append(Piece(index, cursor, chunk.shape[0], offset))
            parts.append(chunk.astype(np.float32))
            cursor += chunk.shape[0]
            previous = index
        clips.append({"start": start / MODEL_RATE, "end": cursor / MODEL_RATE})
    samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return SharedLayout(speech, pieces, clips, samples)


def owner_of(pieces: list[Piece], start_s: float, end_s: float) -> Piece:
    """The piece a word (or a wordless segment) belongs to: the one holding its middle, else the nearest."""
    middle = (start_s + end_s) / 2 * MODEL_RATE

    def distance(piece: Piece) -> float:
        return max(piece.shared_start - middle, middle - piece.shared_end, 0.0)

    return min(pieces, key=distance)


def split_segment(seg: Any, pieces: list[Piece]) -> list[tuple[Piece, Any]]:
    """One decoded segment of a shared window as runs of consecutive words of one request each, moved to
    that request's speech time (faster-whisper's Segment and Word dataclasses, new copies)."""
    import dataclasses

    def moved(piece: Piece, t: float) -> float:
        within = min(max(0.0, t - piece.shared_start / MODEL_RATE), piece.length / MODEL_RATE)
        return within + piece.speech_offset / MODEL_RATE

    if not seg.words:
        piece = owner_of(pieces, seg.start, seg.end)
        return [(piece, dataclasses.replace(seg, start=moved(piece, seg.start), end=moved(piece, seg.end)))]
    runs: list[tuple[Piece, list[Any]]] = []
    for word in seg.words:
        piece = owner_of(pieces, word.start, word.end)
        copy = dataclasses.replace(word, start=moved(piece, word.start), end=moved(piece, word.end))
        if runs and runs[-1][0].request == piece.request:
            runs[-1][1].append(copy)
        else:
            runs.append((piece, [copy]))
    if len(runs) == 1:
        piece, words = runs[0]
        return [(piece, dataclasses.replace(seg, start=words[0].start, end=words[-1].end, words=words))]
    return [
        (
            piece,
            dataclasses.replace(seg, start=words[0].start, end=words[-1].end, words=words, text="".join(w.word for w in words)),
        )
        for piece, words in runs
    ]


def decode_together(batch: list[Waiting], batch_size: int) -> list[Result]:
    """Each request's transcript, the requests' speech decoded in shared windows and batches of ``batch_size``."""
    from faster_whisper.transcribe import restore_speech_timestamps

    model = batch[0].model
    _, arguments = model.decoding(batch[0].options, 0.0, batch[0].beam_size)  # one key: the same for all
    shared = lay_out(batch)
    found: list[list[Segment]] = [[] for _ in batch]
    window_starts = [clip["start"] for clip in shared.clips]
    by_window: list[list[Piece]] = [[] for _ in shared.clips]
    for piece in shared.pieces:
        by_window[bisect.bisect_right(window_starts, piece.shared_start / MODEL_RATE + 1e-9) - 1].append(piece)
    if shared.clips:
        segments, _ = model.batched("shared").transcribe(
            shared.samples, clip_timestamps=shared.clips, batch_size=batch_size, **arguments
        )
        for seg in segments:
            window = bisect.bisect_right(window_starts, seg.start + 1e-6) - 1
            for piece, part in split_segment(seg, by_window[window]):
                (restored,) = restore_speech_timestamps([part], shared.speech[piece.request], MODEL_RATE)
                mine = found[piece.request]
                mine.append(model_segment(restored, len(mine)))
                entry = batch[piece.request]
                if entry.on_segment is not None:
                    entry.on_segment(correct_spellings(mine[-1:], entry.options.glossary)[0])
    results = []
    for index, entry in enumerate(batch):
        decode, _ = model.decoding(entry.options, entry.samples.shape[0] / MODEL_RATE, entry.beam_size)
        record = {**asdict(decode), "inference": "dynamic", "batch_size": batch_size, "batch_requests": len(batch)}
        record["windows"] = sum(1 for pieces in by_window if any(p.request == index for p in pieces))
        record["window_requests"] = max(
            (len({p.request for p in ps}) for ps in by_window if any(p.request == index for p in ps)), default=0
        )
        language = (str(arguments["language"]), 1.0)  # a known language (``batchable``), as faster-whisper reports it
        duration_s = entry.samples.shape[0] / MODEL_RATE
        transcript = model.assemble(entry.job_id, entry.samples, entry.options, record, found[index], language, duration_s)
        speech_s = sum(s["end"] - s["start"] for s in shared.speech[index]) / MODEL_RATE
        results.append((transcript, speech_s))
    return results
