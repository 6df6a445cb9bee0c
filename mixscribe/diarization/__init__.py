"""Speaker diarization of one channel, offline: who spoke when, on the transcript's words.

``features`` (mel frames), ``encoder`` (the ONNX voice encoder), ``diarizer`` (windows, embeddings,
clustering, turns), ``labels`` (words and segments labelled, ``S1``… named, summary, renames) and
``stitching`` (speakers matched across the pieces of a long file). ``diarize_transcript`` is what the
transcription job calls for a piece (or one channel of it).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from mixscribe.jobs import JobOptions
from mixscribe.transcript import Transcript

from .diarizer import Encoder, SpeakerBounds, diarize
from .labels import label_words

RECORD = "diarization"  # the transcript option that carries a piece's speakers until the job is stitched


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
