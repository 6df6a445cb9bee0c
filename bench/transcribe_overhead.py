"""P1: the pipeline's transcription (decode + engine) against bare faster-whisper on the same file.

Same model, device, compute type, beam size, VAD and word timestamps; each side runs ``repeats``
times alternately after a warm-up, and the best times are compared.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from mixscribe.audio import decode_audio
from mixscribe.jobs import JobOptions
from mixscribe.transcription.engine import BatchRule

from .models import load_engines

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "standup.opus"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    settings, placement, ours, bare = load_engines(rule=BatchRule(0, 0.0))  # the wrapper's cost: both sequential
    options = JobOptions(model="tiny.en", language="en")

    def run_ours() -> tuple[float, int]:
        started = time.perf_counter()
        audio = decode_audio(str(SAMPLE), 3600)
        transcript, _ = ours.transcribe("bench", audio.samples, options, settings.beam_size)
        return time.perf_counter() - started, len(transcript.text.split())

    def run_bare() -> tuple[float, int]:
        started = time.perf_counter()
        segments, _ = bare.transcribe(
            str(SAMPLE), language="en", beam_size=settings.beam_size, vad_filter=True, word_timestamps=True
        )
        words = sum(len(s.text.split()) for s in segments)
        return time.perf_counter() - started, words

    run_ours(), run_bare()  # warm-up
    ours_t, bare_t = [], []
    for _ in range(args.repeats):
        ours_t.append(run_ours()[0])
        bare_t.append(run_bare()[0])
    audio_s = decode_audio(str(SAMPLE), 3600).duration_s
    result = {
        "file": SAMPLE.name,
        "audio_s": round(audio_s, 1),
        "device": placement.device,
        "compute_type": placement.compute_type,
        "pipeline_s": round(min(ours_t), 3),
        "bare_s": round(min(bare_t), 3),
        "overhead_ratio": round(min(ours_t) / min(bare_t), 3),
        "pipeline_rtf": round(min(ours_t) / audio_s, 4),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
