"""P2: a silence-heavy recording (a mixer left recording between talks) through the pipeline
(Silero VAD skips silence before the model; timestamps map back) against bare faster-whisper
without VAD, same model and settings. Also the word error rate of both (jiwer) against the
sample's reference text, and of the pipeline on the plain speech samples.

    python -m bench.transcribe_silence
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import jiwer
import numpy as np
import soundfile

from mixscribe.audio import MODEL_RATE, decode_audio
from mixscribe.jobs import JobOptions
from mixscribe.transcription.seams import plan_bounds

from .models import load_engines
from .side_by_side import words

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def silence_heavy(path: Path, speech: np.ndarray, pieces: int = 8, gap_s: float = 12.0) -> float:
    """Speech cut at its quiet moments into ``pieces``, ``gap_s`` of near-silence after each; the silent share."""
    rng = np.random.default_rng(5)
    parts = []
    for start, end in plan_bounds(speech, MODEL_RATE, pieces):
        parts.append(speech[start:end])
        parts.append(rng.normal(0, 3e-4, int(gap_s * MODEL_RATE)).astype(np.float32))  # -70 dBFS room noise
    audio = np.concatenate(parts)
    soundfile.write(str(path), audio, MODEL_RATE, subtype="PCM_16")
    return pieces * gap_s / (audio.shape[0] / MODEL_RATE)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--gaps",
        type=float,
        nargs="+",
        default=[12.0, 60.0],
        help="seconds of room noise after each of 8 speech pieces (12 s: just over half silence)",
    )
    args = parser.parse_args(argv)
    settings, placement, ours, bare = load_engines()
    options = JobOptions(model="tiny.en", language="en")
    reference = words((SAMPLES / "standup.txt").read_text())
    speech = decode_audio(str(SAMPLES / "standup.opus"), 3600).samples
    result: dict = {"layouts": []}
    for gap_s in args.gaps:
        with tempfile.TemporaryDirectory() as tmp:
            heavy = Path(tmp) / "mostly_silence.wav"
            silent_share = silence_heavy(heavy, speech, gap_s=gap_s)
            duration = decode_audio(str(heavy), 3600).duration_s

            def run_ours(heavy: Path = heavy) -> tuple[float, str]:
                started = time.perf_counter()
                audio = decode_audio(str(heavy), 3600)
                transcript, _ = ours.transcribe("bench", audio.samples, options, settings.beam_size)
                elapsed = time.perf_counter() - started
                return elapsed, transcript.text

            def run_bare(heavy: Path = heavy) -> tuple[float, str]:
                started = time.perf_counter()
                segments, _ = bare.transcribe(
                    str(heavy), language="en", beam_size=settings.beam_size, vad_filter=False, word_timestamps=True
                )
                text = " ".join(s.text for s in segments)  # the generator does the work: time it
                return time.perf_counter() - started, text

            ours_runs = [run_ours() for _ in range(args.repeats)]
            bare_runs = [run_bare() for _ in range(args.repeats)]
        ours_s, bare_s = min(t for t, _ in ours_runs), min(t for t, _ in bare_runs)
        ours_wer, bare_wer = jiwer.wer(reference, words(ours_runs[0][1])), jiwer.wer(reference, words(bare_runs[0][1]))
        result["layouts"].append(
            {
                "gap_s": gap_s,
                "audio_s": round(duration, 1),
                "silent_share": round(silent_share, 3),
                "pipeline_s": round(ours_s, 3),
                "bare_no_vad_s": round(bare_s, 3),
                "speedup": round(bare_s / ours_s, 2),
                "pipeline_wer": round(ours_wer, 4),
                "bare_no_vad_wer": round(bare_wer, 4),
                "wer_delta_points": round(100 * (ours_wer - bare_wer), 2),
            }
        )
    plain = {}
    for name, ext in (("meeting", "flac"), ("standup", "opus")):
        audio = decode_audio(str(SAMPLES / f"{name}.{ext}"), 3600)
        transcript, _ = ours.transcribe("bench", audio.samples, options, settings.beam_size)
        plain[name] = round(jiwer.wer(words((SAMPLES / f"{name}.txt").read_text()), words(transcript.text)), 4)
    result["speech_samples_wer"] = plain
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
