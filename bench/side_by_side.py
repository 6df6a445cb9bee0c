"""Requests side by side through the job's dynamic batcher, and bare batched faster-whisper over the same
clips end to end (the ceiling): the parts the stack's dynamic batching bench and the GPU bench share;
and the text every bench's word error rate compares. Imports the domain's transcription package and
numpy only, so that it runs where the stack does not (a lent GPU machine without the emulators)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from mixscribe.jobs import JobOptions
from mixscribe.transcription import engine
from mixscribe.transcription.dynamic_batching import DynamicBatcher

T = TypeVar("T")


def words(text: str) -> str:
    """``text`` as the word error rates compare it: lower case, words of letters, digits and apostrophes."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def dynamic_texts(model: engine.SpeechModel, clips: list[np.ndarray], requests: int, batch_size: int) -> list[str]:
    """The clips' texts, ``requests`` at a time side by side through one batcher (one owner's pack)."""
    batcher, texts, options = (
        DynamicBatcher(batch_size, gather_s=5.0),
        [""] * len(clips),
        JobOptions(model="tiny.en", language="en"),
    )

    def request(index: int) -> None:
        with batcher.request():
            texts[index] = batcher.transcribe(model, f"c{index}", clips[index], options, 5, pack="bench")[0].text

    for first in range(0, len(clips), requests):
        threads = [threading.Thread(target=request, args=(i,)) for i in range(first, min(first + requests, len(clips)))]
        for _ in threads:
            batcher.expect()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return texts


def best_of(runs: int, run: Callable[[], T]) -> tuple[float, float, T]:
    """The fastest of ``runs`` calls: its wall and CPU seconds (this process, every thread) and result."""
    timed = []
    for _ in range(runs):
        started, cpu_started = time.monotonic(), time.process_time()
        out = run()
        timed.append((time.monotonic() - started, time.process_time() - cpu_started, out))
    return min(timed, key=lambda seconds: seconds[0])


def bare_batched(model: engine.SpeechModel, audio: np.ndarray, batch_size: int, runs: int = 2) -> tuple[float, float, str]:
    """faster-whisper's own batched pipeline over ``audio`` (the job's decoding options: English, beam 5,
    VAD, word timestamps): the best run's wall and CPU seconds and its text."""

    def transcribe() -> str:
        segments, _ = model.batched("bare").transcribe(
            audio, batch_size=batch_size, language="en", beam_size=5, word_timestamps=True
        )
        return " ".join(s.text.strip() for s in segments)

    return best_of(runs, transcribe)
