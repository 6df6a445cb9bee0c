"""Several requests' speech decoded together, in shared windows and shared batches.

Whisper hears 30 s windows and pays for the whole window however little speech it holds, so a short
file's speech is laid out with others' in the same window: each file's speech as faster-whisper's
batched pipeline finds it (VAD, stretches of up to 30 s), one request's stretches back to back,
``GAP_S`` of silence before the next request's, at most ``WINDOW_REQUESTS`` requests to a window (more
crowd Whisper: it skips or merges short files). Only requests of one pack (one owner) share a window;
another pack starts a new one. The windows are decoded ``batch_size`` at a time with timestamps, and
each segment goes back to the request whose stretch holds it (its words moved to that request's own
time; a segment whose words span two requests is split at its words).

A window is checked before its text is believed: a request whose words cover much less of its speech
than words do (0.8-0.9 measured), or that got far fewer words per second of speech than its neighbours,
lost them to a neighbour or to nothing: the model ran the requests together (Whisper does that with
identical or very similar neighbours). The requests of such a window are decoded again, each in windows
of its own (still in shared batches), as the batched pipeline decodes one file.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import math
from collections.abc import Callable, Iterable
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
GAP_S = 1.0  # silence between two requests' speech in a shared window
# requests sharing one window at most: 16 voice notes side by side in 4-request windows: WER 0.166 and
# 0 of 16 decoded again; in windows filled up (6-7 each) 0.136 but 6 decoded again, and the speech
# samples' 6 s cuts 0.382 against 0.249 (make bench, 2026-12-04)
WINDOW_REQUESTS = 4
MIN_HEARD_S = 1.0  # a request with this much speech in a window must be heard in it
MIN_COVERAGE = 0.5  # ... its words covering at least this share of its speech (measured: 0.8-0.9 when right)
# ... and words per speech second at least this share of the window's median: 0.58-0.97 over different
# voice notes and the stand-up's cuts, 0.34 where Whisper heard 4 copies of a sentence as 3 (2026-12-04)
MIN_RATE_SHARE = 0.5


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
    """Speech laid out in windows of up to ``WINDOW_S``, each starting on a whole second."""

    pieces: list[list[Piece]]  # per window
    clips: list[dict[str, float]]  # the windows, seconds of the shared array (the pipeline's clip_timestamps)
    samples: np.ndarray


def speech_of(samples: np.ndarray) -> list[dict[str, int]]:
    """The file's speech as the batched pipeline finds it (VAD, stretches of up to ``WINDOW_S``)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return list(get_speech_timestamps(samples, VadOptions(max_speech_duration_s=WINDOW_S, min_silence_duration_ms=160)))


def lay_out(batch: list[Waiting], speech: list[list[dict[str, int]]], requests: Iterable[int], share: bool) -> SharedLayout:
    """Windows filled with ``requests``' speech in order (by pack, then arrival); with ``share``, one
    pack's requests share windows, else every request starts a window of its own."""
    capacity, gap = int(WINDOW_S * MODEL_RATE), int(GAP_S * MODEL_RATE)
    windows: list[list[tuple[int, np.ndarray, int]]] = []  # (request, samples, speech offset) per window
    fill, last = capacity, ("", -1)  # no pack is empty (``DynamicBatcher.transcribe``)
    for index in sorted(requests, key=lambda i: (batch[i].pack, i)):
        offset = 0
        for stamp in speech[index]:
            chunk = batch[index].samples[stamp["start"] : stamp["end"]]
            room = bool(windows) and len({request for request, _, _ in windows[-1]}) < WINDOW_REQUESTS
            same_window = (share and last[0] == batch[index].pack and room) or last[1] == index
            needed = chunk.shape[0] + (0 if last[1] == index else gap)
            if not same_window or fill + needed > capacity:
                windows.append([])
                fill, needed = 0, chunk.shape[0]
            windows[-1].append((index, chunk, offset))
            fill += needed
            offset += chunk.shape[0]
            last = (batch[index].pack, index)
    parts: list[np.ndarray] = []
    pieces: list[list[Piece]] = []
    clips, cursor = [], 0
    for window in windows:
        start = math.ceil(cursor / MODEL_RATE) * MODEL_RATE  # whole seconds: the pipeline's offsets stay exact
        parts.append(np.zeros(start - cursor, np.float32))
        cursor, previous = start, None
        pieces.append([])
        for index, chunk, offset in window:
            if previous is not None and previous != index:
                parts.append(np.zeros(gap, np.float32))
                cursor += gap
            pieces[-1].append(Piece(index, cursor, chunk.shape[0], offset))
            parts.append(chunk.astype(np.float32))
            cursor += chunk.shape[0]
            previous = index
        clips.append({"start": start / MODEL_RATE, "end": cursor / MODEL_RATE})
    return SharedLayout(pieces, clips, np.concatenate(parts) if parts else np.zeros(0, np.float32))


def decode_layout(model: SpeechModel, arguments: dict[str, Any], layout: SharedLayout, batch_size: int) -> list[list[Any]]:
    """faster-whisper's segments of each window (with timestamps: a segment per sentence, not per window)."""
    found: list[list[Any]] = [[] for _ in layout.clips]
    if not layout.clips:
        return found
    starts = [clip["start"] for clip in layout.clips]
    segments, _ = model.batched("shared").transcribe(
        layout.samples, clip_timestamps=layout.clips, batch_size=batch_size, without_timestamps=False, **arguments
    )
    for seg in segments:
        found[bisect.bisect_right(starts, seg.start + 1e-6) - 1].append(seg)
    return found


def ran_together(pieces: list[Piece], segments: list[Any]) -> bool:
    """Whether the model ran a shared window's requests together (see the module): a request with
    speech whose words cover less than ``MIN_COVERAGE`` of it (its words went to a neighbour, or nowhere),
    or that got words at under ``MIN_RATE_SHARE`` of the window's median rate (a stretched word can cover
    a request whose other words went to a neighbour)."""
    requests = {p.request for p in pieces}
    if len(requests) < 2:
        return False
    covered, counted = dict.fromkeys(requests, 0.0), dict.fromkeys(requests, 0)
    for seg in segments:
        for start, end in [(w.start, w.end) for w in seg.words] if seg.words else [(seg.start, seg.end)]:
            owner = owner_of(pieces, start, end).request
            covered[owner] += end - start
            counted[owner] += 1
    speech_s = {r: sum(p.length for p in pieces if p.request == r) / MODEL_RATE for r in requests}
    heard = {r: s for r, s in speech_s.items() if s >= MIN_HEARD_S}  # requests that must be heard
    if any(covered[r] < MIN_COVERAGE * speech_s for r, speech_s in heard.items()):
        return True
    rates = sorted(counted[r] / speech_s for r, speech_s in heard.items())
    return len(rates) >= 2 and rates[0] < MIN_RATE_SHARE * rates[len(rates) // 2]


def owner_of(pieces: list[Piece], start_s: float, end_s: float) -> Piece:
    """The piece a word (or a wordless segment) belongs to: the one holding its middle, else the nearest."""
    middle = (start_s + end_s) / 2 * MODEL_RATE

    def distance(piece: Piece) -> float:
        return max(piece.shared_start - middle, middle - piece.shared_end, 0.0)

    return min(pieces, key=distance)


def split_segment(seg: Any, pieces: list[Piece]) -> list[tuple[Piece, Any]]:
    """One decoded segment as runs of consecutive words of one request each, moved to that request's
    speech time (new copies of faster-whisper's Segment and Word dataclasses)."""

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
    text = (lambda words: seg.text) if len(runs) == 1 else (lambda words: "".join(w.word for w in words))
    return [
        (piece, dataclasses.replace(seg, start=words[0].start, end=words[-1].end, words=words, text=text(words)))
        for piece, words in runs
    ]


def decode_together(batch: list[Waiting], batch_size: int) -> list[Result]:
    """Each request's transcript, the requests' speech decoded in shared windows and batches of ``batch_size``."""
    from faster_whisper.transcribe import restore_speech_timestamps

    model = batch[0].model
    _, arguments = model.decoding(batch[0].options, 0.0, batch[0].beam_size)  # one key: the same for all
    speech = [speech_of(entry.samples) for entry in batch]
    layout = lay_out(batch, speech, range(len(batch)), share=True)
    decoded = decode_layout(model, arguments, layout, batch_size)
    again = {p.request for pieces, segs in zip(layout.pieces, decoded) if ran_together(pieces, segs) for p in pieces}
    kept = [(pieces, segs) for pieces, segs in zip(layout.pieces, decoded) if not again & {p.request for p in pieces}]
    if again:
        log.info("shared windows ran requests together; decoded again apart", extra=fields(requests=len(again)))
        alone = lay_out(batch, speech, sorted(again), share=False)
        kept += list(zip(alone.pieces, decode_layout(model, arguments, alone, batch_size)))
    found: list[list[Any]] = [[] for _ in batch]
    windows, neighbours = [0] * len(batch), [0] * len(batch)
    for pieces, segments in kept:
        for request in {p.request for p in pieces}:
            windows[request] += 1
            neighbours[request] = max(neighbours[request], len({p.request for p in pieces}))
        for seg in segments:
            for piece, part in split_segment(seg, pieces):
                (restored,) = restore_speech_timestamps([part], speech[piece.request], MODEL_RATE)
                found[piece.request].append(restored)
    results = []
    for index, entry in enumerate(batch):
        mine = [model_segment(seg, k) for k, seg in enumerate(sorted(found[index], key=lambda s: (s.start, s.end)))]
        if entry.on_segment is not None:
            for segment in correct_spellings(mine, entry.options.glossary):
                entry.on_segment(segment)
        decode, _ = model.decoding(entry.options, entry.samples.shape[0] / MODEL_RATE, entry.beam_size)
        record = {**asdict(decode), "inference": "dynamic", "batch_size": batch_size, "batch_requests": len(batch)}
        record.update(windows=windows[index], window_requests=neighbours[index], decoded_apart=index in again)
        language = (str(arguments["language"]), 1.0)  # a known language (``batchable``), as faster-whisper reports it
        duration_s = entry.samples.shape[0] / MODEL_RATE
        transcript = model.assemble(entry.job_id, entry.samples, entry.options, record, mine, language, duration_s)
        results.append((transcript, sum(s["end"] - s["start"] for s in speech[index]) / MODEL_RATE))
    return results
