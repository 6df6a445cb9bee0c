"""Dynamic batching: the short requests a task works on at once share the model's batches.

A task that takes several requests side by side (``MIXSCRIBE_CPU_BATCH_REQUESTS`` /
``GPU_BATCH_REQUESTS``, jobs/transcribe/worker.py) keeps each one's claim, lease, options, outputs
and ack. When one of them reaches the model with a short mono file (at most one 30 s window, one the batch
rule would decode window after window), it hands its samples to the task's ``DynamicBatcher`` and waits. The batcher
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

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from mixscribe.audio import MODEL_RATE
from mixscribe.jobs import ANONYMOUS, JobOptions, owner_for
from mixscribe.logs import fields
from mixscribe.transcript import Segment

from .engine import SpeechModel
from .languages import WINDOW_S
from .shared_windows import Result, Waiting, decode_together

log = logging.getLogger(__name__)


def pack_of(object_name: str) -> str:
    """The pack an upload's request may share windows in: its owner's (none for an unknown owner)."""
    owner = owner_for(object_name)
    return "" if owner == ANONYMOUS else owner


def batchable(model: SpeechModel, samples: np.ndarray, options: JobOptions, beam_size: int) -> bool:
    """Whether a request may share a batch: its language is known and its file is short, one window of
    audio at most, and one the batch rule leaves to window-after-window decoding. A longer file fills
    windows on its own, and decoded alone its progress is heard window by window, not at a batch's end."""
    audio_s = samples.shape[0] / MODEL_RATE
    decode, _ = model.decoding(options, audio_s, beam_size)
    return audio_s <= WINDOW_S and decode.language is not None and decode.batch_size == 0


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
        pack: str = "",
    ) -> Result:
        """``model.transcribe``'s result: decoded in a batch shared with the other requests in flight when
        the file may share one (``batchable``), else by its own rule (no batch waits for it then).
        Requests of one ``pack`` (one owner's; empty: this request alone) may share the model's windows."""
        if not batchable(model, samples, options, beam_size):
            self.passes()
            return model.transcribe(job_id, samples, options, beam_size, on_segment)
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
            if len(batch) > 1:  # alone, a request is decoded as its own rule says (window after window, live)
                try:
                    for entry, result in zip(batch, decode_together(batch, self.batch_size)):
                        entry.result = result
                    return
                except Exception:
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
            self._batched(batch, started)

    def _batched(self, batch: list[Waiting], started: float) -> None:
        """Count and log one decoded batch."""
        self.batches += 1
        audio_s = sum(entry.samples.shape[0] for entry in batch) / MODEL_RATE
        log.info(
            "shared batch decoded",
            extra=fields(requests=len(batch), audio_s=round(audio_s, 2), seconds=round(time.monotonic() - started, 3)),
        )
