"""Real-time factor of the transcription engine on this machine (CPU or CUDA), for a baked registry model.

    python -m bench.transcribe_rtf [--device auto|cpu|cuda] [--compute-type auto|int8|float16|int8_float16]
                                   [--minutes 5] [--repeats 3] [--json out.json] [--model tiny.en]

The audio is the repository's speech sample tiled to ``--minutes`` (real speech, decoded by the
pipeline's own decoder); the model is loaded once and timed separately from transcription.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from mixscribe.audio import MODEL_RATE, decode_audio
from mixscribe.config import Settings
from mixscribe.jobs import JobOptions
from mixscribe.transcription.engine import SpeechModel, available_cpus, choose_placement, resolve_model_path

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "standup.opus"


def device_name(device: str) -> str:
    if device == "cuda":
        try:
            import subprocess

            return subprocess.run(
                ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "cuda"
    return f"{platform.processor() or platform.machine()} x{os.cpu_count()}"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compute-type", default="auto")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--model", default="tiny.en", help="a model of the registry (MIXSCRIBE_MODEL_REGISTRY), baked")
    args = parser.parse_args(argv)
    import ctranslate2

    settings = Settings.from_env(None, device=args.device, compute_type=args.compute_type)
    placement = choose_placement(settings, ctranslate2.get_cuda_device_count(), available_cpus())
    model = SpeechModel(args.model, resolve_model_path(args.model, settings), placement)
    clip = decode_audio(str(SAMPLE), 3600).samples
    gap = np.zeros(int(1.0 * MODEL_RATE), dtype=np.float32)
    unit = np.concatenate([clip, gap])
    audio = np.tile(unit, max(1, int(args.minutes * 60 * MODEL_RATE / unit.shape[0])))
    audio_s = audio.shape[0] / MODEL_RATE
    options = JobOptions(model=args.model, language="en")
    model.transcribe("warm-up", clip, options, settings.beam_size)
    timings = []
    words = 0
    for _ in range(args.repeats):
        started = time.perf_counter()
        transcript, _ = model.transcribe("bench", audio, options, settings.beam_size)
        timings.append(time.perf_counter() - started)
        words = len(transcript.text.split())
    best = min(timings)
    result = {
        "device": placement.device,
        "device_name": device_name(placement.device),
        "compute_type": placement.compute_type,
        "cpu_threads": placement.cpu_threads,
        "model": args.model,
        "audio_s": round(audio_s, 1),
        "model_load_s": round(model.load_s, 3),
        "transcribe_s": [round(t, 3) for t in timings],
        "rtf_best": round(best / audio_s, 5),
        "rtf_median": round(statistics.median(timings) / audio_s, 5),
        "speed_x_realtime": round(audio_s / best, 1),
        "words": words,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
