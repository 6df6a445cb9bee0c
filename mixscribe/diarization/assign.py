"""A piece's diarization on its transcript: words take the speaker of their time, segments split where
the speaker changes, the speakers' centroids recorded for stitching (``RECORD``).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from mixscribe.jobs import JobOptions
from mixscribe.transcript import Segment, Transcript, Word

from .diarizer import Diarization, Encoder, SpeakerBounds, diarize

RECORD = "diarization"  # the transcript option that carries a piece's speakers until the job is stitched


def _split(segment: Segment, words: list[Word]) -> list[Segment]:
    """``segment`` cut where its words' speaker changes."""
    runs: list[list[Word]] = []
    for word in words:
        if runs and runs[-1][-1].speaker == word.speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) <= 1:
        return [replace(segment, words=tuple(words), speaker=words[0].speaker if words else segment.speaker)]
    return [
        replace(
            segment,
            start=run[0].start if k else segment.start,
            end=run[-1].end if k + 1 < len(runs) else segment.end,
            text="".join(w.word for w in run).strip(),
            words=tuple(run),
            speaker=run[0].speaker,
        )
        for k, run in enumerate(runs)
    ]


def label_words(transcript: Transcript, diarization: Diarization, prefix: str = "") -> Transcript:
    """Each word labelled with the speaker who talks most during it, segments split at changes (no
    speech long enough to tell a voice: one speaker, ``0``)."""
    segments: list[Segment] = []
    for segment in transcript.segments:
        if not segment.words:
            segments.append(replace(segment, speaker=f"{prefix}{diarization.speaker_at(segment.start, segment.end) or 0}"))
            continue
        words = [replace(w, speaker=f"{prefix}{diarization.speaker_at(w.start, w.end) or 0}") for w in segment.words]
        segments += _split(segment, words)
    renumbered = tuple(replace(seg, id=k) for k, seg in enumerate(segments))
    return replace(transcript, segments=renumbered)


def bounds_for(options: JobOptions) -> SpeakerBounds:
    """The speaker count a job asks for, or the bounds of the estimate."""
    if options.speakers:
        return SpeakerBounds(exact=options.speakers)
    return SpeakerBounds(low=options.min_speakers or 1, high=options.max_speakers or 10)


def diarize_transcript(
    samples: np.ndarray, transcript: Transcript, encoder: Encoder, options: JobOptions, prefix: str = ""
) -> Transcript:
    """``transcript``'s words labelled with the speakers of ``samples`` (16 kHz mono, the same time
    base); the speakers' centroids recorded in its options for stitching."""
    started = time.monotonic()
    found = diarize(samples, encoder, bounds_for(options))
    labelled = label_words(transcript, found, prefix)
    record: dict[str, Any] = {
        "centroids": {f"{prefix}{k}": [round(float(v), 5) for v in found.centroids[k]] for k in range(found.speakers)},
        "windows": found.windows,
        "diarize_s": round(time.monotonic() - started, 3),
    }
    return replace(labelled, options={**labelled.options, RECORD: merge_records(labelled.options.get(RECORD), record)})


def merge_records(*records: dict[str, Any] | None) -> dict[str, Any]:
    """One record of several channels' (or pieces') diarization: centroids united, counts summed."""
    merged: dict[str, Any] = {"centroids": {}, "windows": 0, "diarize_s": 0.0}
    for record in records:
        if record:
            merged["centroids"].update(record.get("centroids", {}))
            merged["windows"] += int(record.get("windows", 0))
            merged["diarize_s"] = round(merged["diarize_s"] + float(record.get("diarize_s", 0.0)), 3)
    return merged
