"""Batched against sequential inference on this machine's CPU, per file length: the measurement that sets
``MIXSCRIBE_CPU_BATCH_SIZE`` and ``MIXSCRIBE_CPU_BATCH_MIN_S`` (``BatchRule``).

The same engine (tiny.en, the task's threads, beam 5, VAD, word timestamps) transcribes clips of the
stand-up recording cut to each length, window after window and through faster-whisper's batched pipeline
at each batch size; best of ``repeats``. Quality: word error rate (jiwer) of both paths on the speech
samples with a reference text, whole. The suggested threshold is the shortest length from which every
longer one is faster batched.

    python -m bench.batched_inference [--lengths 10 20 30 45 77] [--sizes 4 8] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import jiwer
import numpy as np

from mixscribe.audio import MODEL_RATE, decode_audio
from mixscribe.jobs import JobOptions
from mixscribe.transcript import Transcript
from mixscribe.transcription.engine import BatchRule

from .models import load_engines
from .side_by_side import best_of, words

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


Transcribe = Callable[[np.ndarray], tuple[Transcript, float]]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lengths", type=float, nargs="+", default=[10, 20, 30, 45, 77])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    settings, placement, engine, _ = load_engines(rule=BatchRule(0, 0.0))
    options = JobOptions(model="tiny.en", language="en")

    def run(rule: BatchRule) -> Transcribe:
        def transcribe(samples: np.ndarray) -> tuple[Transcript, float]:
            engine.rule = rule
            return engine.transcribe("bench", samples, options, settings.beam_size)

        return transcribe

    sequential, batched = run(BatchRule(0, 0.0)), {size: run(BatchRule(size, 0.0)) for size in args.sizes}
    speech = decode_audio(str(SAMPLES / "standup.opus"), 3600).samples
    sequential(speech[: 5 * MODEL_RATE])  # warm-up
    rows = []
    for length in args.lengths:
        clip = speech[: int(length * MODEL_RATE)]
        seq_s, _, _ = best_of(args.repeats, partial(sequential, clip))
        row: dict = {"audio_s": round(clip.shape[0] / MODEL_RATE, 1), "sequential_s": round(seq_s, 3)}
        for size, transcribe in batched.items():
            bat_s, _, _ = best_of(args.repeats, partial(transcribe, clip))
            row[f"batched_{size}_s"] = round(bat_s, 3)
            row[f"speedup_{size}"] = round(seq_s / bat_s, 2)
        rows.append(row)
    quality = {}
    for name, ext in (("meeting", "flac"), ("standup", "opus")):
        samples = decode_audio(str(SAMPLES / f"{name}.{ext}"), 3600).samples
        reference = words((SAMPLES / f"{name}.txt").read_text())
        quality[name] = {"sequential": round(jiwer.wer(reference, words(sequential(samples)[0].text)), 4)}
        for size, transcribe in batched.items():
            quality[name][f"batched_{size}"] = round(jiwer.wer(reference, words(transcribe(samples)[0].text)), 4)
    best = max(args.sizes, key=lambda size: sum(r[f"speedup_{size}"] for r in rows))
    faster_from = next(
        (r["audio_s"] for i, r in enumerate(rows) if all(later[f"speedup_{best}"] > 1.05 for later in rows[i:])), None
    )
    result = {
        "device": placement.device,
        "threads": placement.cpu_threads,
        "rows": rows,
        "wer": quality,
        "best_size": best,
        "batched_faster_from_s": faster_from,
        "shipped_rule": {"size": settings.cpu_batch_size, "min_s": settings.cpu_batch_min_s},
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
