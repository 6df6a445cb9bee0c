"""Speaker diarization on the espeak-ng corpus (``tests/support/voices.py``): error rate, speaker count
and the diarizer's cost against the transcription's on the same files.

Each mix is transcribed with tiny.en (the pipeline's engine, as a job runs it) and then diarized and
its words labelled (``diarize`` then ``label_words``, as a diarized job runs them); both are timed after a warm-up, best of
``repeats``. DER comes from ``pyannote.metrics`` (collar ``--collar`` s around reference turn
boundaries, the whole file scored, overlap included), accumulated per group of the corpus. Word
attribution: the share of words whose speaker, mapped to the reference by DER's optimal mapping, is
the voice that speaks at the word's midpoint (words in overlaps or pauses are not scored).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from mixscribe.diarization.assign import label_words
from mixscribe.diarization.diarizer import Diarization, SpeakerBounds, diarize
from mixscribe.diarization.encoder import VoiceEncoder
from mixscribe.jobs import JobOptions
from mixscribe.transcript import Transcript
from mixscribe.transcription.engine import available_cpus
from tests.support.voices import Reference, corpus

from .models import load_engines

GROUPS: dict[str, tuple[str, ...]] = {
    "two voices": ("two-",),
    "three or four voices": ("three-", "four-"),
    "one voice": ("one-",),
}
GOALS = {"two voices": 0.15, "three or four voices": 0.25}


def _best(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """The fastest of ``repeats`` runs and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result


def _annotation(turns: list[tuple[float, float, str]]) -> Annotation:
    annotation = Annotation()
    for start, end, speaker in turns:
        annotation[Segment(start, end)] = speaker
    return annotation


def _voice_at(reference: Reference, t: float) -> str | None:
    """The one voice speaking at ``t``; ``None`` in a pause or an overlap."""
    voices = {voice for start, end, voice in reference.turns if start <= t < end}
    return voices.pop() if len(voices) == 1 else None


def _diarized(mix: Reference, transcript: Transcript, encoder: VoiceEncoder) -> tuple[Diarization, Transcript]:
    """What a diarized job adds to a transcribed one: the diarizer, then each word labelled."""
    found = diarize(mix.samples, encoder)
    return found, label_words(transcript, found)


def evaluate(repeats: int = 2, collar: float = 0.25) -> dict[str, Any]:
    """Per-file and per-group figures over the corpus."""
    settings, placement, engine, _ = load_engines()
    encoder = VoiceEncoder(threads=placement.cpu_threads or available_cpus())  # as ModelCache loads it
    options = JobOptions(model="tiny.en", language="en", diarize=True)
    mixes = corpus()
    engine.transcribe("warm-up", mixes[0].samples, options, settings.beam_size)
    diarize(mixes[0].samples, encoder)
    files, metrics = [], {group: DiarizationErrorRate(collar=collar) for group in GROUPS}
    for mix in mixes:
        group = next(g for g, prefix in GROUPS.items() if mix.name.startswith(prefix))
        transcribe = partial(engine.transcribe, mix.name, mix.samples, options, settings.beam_size)
        transcribe_s, (transcript, _) = _best(transcribe, repeats)
        diarize_s, (found, labelled) = _best(partial(_diarized, mix, transcript, encoder), repeats)
        reference = _annotation(list(mix.turns))
        words = [w for seg in labelled.segments for w in seg.words]
        hypothesis = _annotation([(t.start, t.end, str(t.speaker)) for t in found.turns])
        uem = Timeline([Segment(0, mix.duration_s)])
        der = metrics[group](reference, hypothesis, uem=uem)
        mapping = DiarizationErrorRate(collar=collar).optimal_mapping(reference, hypothesis)
        scored = [(mapping.get(str(w.speaker)), _voice_at(mix, (w.start + w.end) / 2)) for w in words]
        scored = [(got, want) for got, want in scored if want is not None]
        known = diarize(mix.samples, encoder, SpeakerBounds(exact=len(mix.voices)))
        known_der = DiarizationErrorRate(collar=collar)(
            reference, _annotation([(t.start, t.end, str(t.speaker)) for t in known.turns]), uem=uem
        )
        files.append(
            {
                "file": mix.name,
                "audio_s": round(mix.duration_s, 1),
                "voices": len(mix.voices),
                "found": len({w.speaker for w in words}),
                "der": round(der, 4),
                "der_count_given": round(known_der, 4),
                "word_accuracy": round(sum(got == want for got, want in scored) / max(len(scored), 1), 4),
                "transcribe_s": round(transcribe_s, 3),
                "diarize_s": round(diarize_s, 3),
            }
        )
    groups = {
        group: {
            "der": round(abs(metric), 4),
            "goal": GOALS.get(group),
            "count_right": sum(f["found"] == f["voices"] for f in files if f["file"].startswith(GROUPS[group])),
            "files": sum(f["file"].startswith(GROUPS[group]) for f in files),
        }
        for group, metric in metrics.items()
    }
    transcribe_total = sum(f["transcribe_s"] for f in files)
    diarize_total = sum(f["diarize_s"] for f in files)
    audio_total = sum(f["audio_s"] for f in files)
    return {
        "collar_s": collar,
        "files": files,
        "groups": groups,
        "count_accuracy": round(sum(f["found"] == f["voices"] for f in files) / len(files), 3),
        "word_accuracy": round(sum(f["word_accuracy"] for f in files) / len(files), 4),
        "audio_s": round(audio_total, 1),
        "transcribe_s": round(transcribe_total, 3),
        "diarize_s": round(diarize_total, 3),
        "transcribe_rtf": round(transcribe_total / audio_total, 4),
        "diarize_rtf": round(diarize_total / audio_total, 4),
        "cost_ratio": round(diarize_total / transcribe_total, 3),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--collar", type=float, default=0.25)
    args = parser.parse_args(argv)
    result = evaluate(args.repeats, args.collar)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
