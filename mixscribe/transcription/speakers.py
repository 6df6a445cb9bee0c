"""One speaker per input channel: transcribe each channel alone, merge by time, resolve cross-talk.

A mixer's inputs are microphones, one per speaker, so a channel map (``x-goog-meta-channels:
host,guest``) names who speaks on each. Each channel is transcribed on its own and its segments
are labelled with its speaker; the segments are merged in time order. Microphones also pick up
the other speaker (bleed): when two segments of different channels overlap in time and say
nearly the same words, the one louder in its own channel wins and the other is dropped.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from mixscribe import telemetry
from mixscribe.audio import MODEL_RATE
from mixscribe.diarization.assign import RECORD, diarize_transcript, merge_records
from mixscribe.jobs import JobOptions
from mixscribe.progress import ProgressTracker
from mixscribe.transcript import Segment, Transcript

MIN_OVERLAP = 0.5  # of the shorter segment
MIN_SIMILARITY = 0.5  # word-sequence similarity that marks the same speech heard twice


def _energy(samples: np.ndarray, segment: Segment) -> float:
    part = samples[int(segment.start * MODEL_RATE) : max(int(segment.end * MODEL_RATE), int(segment.start * MODEL_RATE) + 1)]
    return float(np.sqrt(np.mean(part.astype(np.float64) ** 2))) if part.size else 0.0


def _same_speech(a: Segment, b: Segment) -> bool:
    overlap = min(a.end, b.end) - max(a.start, b.start)
    shorter = max(min(a.end - a.start, b.end - b.start), 1e-3)
    if overlap / shorter < MIN_OVERLAP:
        return False

    def words(segment: Segment) -> list[str]:
        return segment.text.lower().replace(",", "").replace(".", "").split()

    return difflib.SequenceMatcher(None, words(a), words(b)).ratio() >= MIN_SIMILARITY


def merge_channels(labelled: list[tuple[Segment, float]]) -> list[Segment]:
    """Time-ordered segments with cross-talk duplicates removed (the louder copy kept)."""
    ordered = sorted(labelled, key=lambda item: (item[0].start, item[0].end))
    dropped: set[int] = set()
    for i, (seg, energy) in enumerate(ordered):
        for j in range(i + 1, len(ordered)):
            other, other_energy = ordered[j]
            if other.start >= seg.end:
                break
            if seg.speaker != other.speaker and _same_speech(seg, other):
                dropped.add(j if energy >= other_energy else i)
    kept = [seg for k, (seg, _) in enumerate(ordered) if k not in dropped]
    return [replace(seg, id=index) for index, seg in enumerate(kept)]


ChannelDiarizer = Callable[[np.ndarray, Transcript, str], Transcript]  # (samples, transcript, label prefix)


def channel_diarizer(encoder: Any, options: JobOptions) -> ChannelDiarizer:
    """Diarization of one channel's (or the mono file's) transcript with the task's voice encoder."""

    def run(samples: np.ndarray, transcript: Transcript, prefix: str) -> Transcript:
        with telemetry.span("diarize", **{"mixscribe.prefix": prefix}):
            return diarize_transcript(samples, transcript, encoder, options, prefix)

    return run


def transcribe_channels(
    model: Any,
    job_id: str,
    channel_samples: np.ndarray,
    speakers: tuple[str, ...],
    options: JobOptions,
    beam_size: int,
    diarize: ChannelDiarizer | None = None,
    progress: ProgressTracker | None = None,
) -> tuple[Transcript, float]:
    """The merged transcript of ``speakers`` (one per channel, in order) and the speech seconds;
    with ``diarize``, each channel's speakers are told apart (labels ``<channel>/<k>``); ``progress``
    hears every channel's segments (the channels one after the other)."""
    labelled: list[tuple[Segment, float]] = []
    transcripts: list[Transcript] = []
    speech = 0.0
    for index, speaker in enumerate(speakers):
        samples = np.ascontiguousarray(channel_samples[index])
        heard = progress.listener(index, samples.shape[0] / MODEL_RATE, speaker) if progress else None
        transcript, speech_s = model.transcribe(job_id, samples, options, beam_size, heard)
        if diarize is not None:
            transcript = diarize(samples, transcript, f"{speaker}/")
        transcripts.append(transcript)
        speech = max(speech, speech_s)
        labelled += [(seg if diarize else replace(seg, speaker=speaker), _energy(samples, seg)) for seg in transcript.segments]
    segments = merge_channels(labelled)
    loudest = max(range(len(transcripts)), key=lambda i: sum(e for s, e in labelled if s.speaker == speakers[i]))
    base = transcripts[loudest]
    recorded = {**base.options, "speakers": list(speakers), "per_channel": True}
    if diarize is not None:
        recorded[RECORD] = merge_records(*(t.options.get(RECORD) for t in transcripts))
    return replace(base, segments=tuple(segments), options=recorded), speech
