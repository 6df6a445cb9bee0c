"""Issue 23's GPU measurement, prepared for a lent GPU machine (it runs on CPU too, to rehearse it):
tiny.en through the job's own paths against faster-whisper's ``BatchedInferencePipeline`` on the same
device, in process (storage, records and outputs are not on the model's path and are left out).

- Long file: the stand-up recording tiled to ``--minutes``: the job's window-after-window path, its
  batched path (the device's batch size) and bare batched faster-whisper (the same batch size).
- Short files: the voice notes (50 espeak-ng recordings of known sentences) ``--rounds`` times over:
  one request at a time (the job's path for a request alone), dynamic batching with N requests side by
  side (``--requests``), and the ceiling: bare batched faster-whisper over the same clips end to end.

Reported per path: seconds (best of ``--repeats`` where repeated), real-time factor, audio hours per
device hour, WER against the known text (when jiwer is importable), and the efficiency: the path's
audio seconds per second over the ceiling's (issue 23's goal on a GPU: ≥ 0.8). The inputs are decoded
here once (``--write-inputs DIR``: espeak-ng and ffmpeg are needed) and read as 16 kHz int16 arrays, so
the GPU machine needs no audio decoder; ``bench/gpu/README.md`` says how to run it there.

    python -m bench.gpu_batching --write-inputs .gpu/inputs
    python -m bench.gpu_batching --inputs .gpu/inputs [--device auto] [--minutes 10] [--rounds 8]
                                 [--requests 16,64] [--repeats 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.side_by_side import bare_batched, best_of, dynamic_texts, words
from bench.transcribe_rtf import device_name
from mixscribe.audio import MODEL_RATE
from mixscribe.config import Settings
from mixscribe.jobs import JobOptions
from mixscribe.transcription import engine

REPO = Path(__file__).resolve().parent.parent
NOTES = 50


def write_inputs(folder: Path) -> None:
    """The stand-up and the voice notes as 16 kHz int16 arrays, and their texts (``texts.json``)."""
    import tempfile

    from bench.dynamic_batching import voice_notes
    from mixscribe.audio import decode_audio

    folder.mkdir(parents=True, exist_ok=True)
    standup = REPO / "samples" / "standup.opus"
    texts: dict[str, Any] = {"standup": (REPO / "samples" / "standup.txt").read_text().strip()}
    np.save(folder / "standup.npy", to_int16(decode_audio(str(standup), 600).samples))
    with tempfile.TemporaryDirectory() as tmp:
        files, sentences = voice_notes(Path(tmp), NOTES)
        notes = [to_int16(decode_audio(str(f), 600).samples) for f in files]
    np.savez(folder / "notes.npz", *notes)
    texts["notes"] = sentences
    (folder / "texts.json").write_text(json.dumps(texts, indent=1))


def to_int16(samples: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip(samples, -1.0, 1.0) * 32767, dtype=np.int16)


def to_float(samples: np.ndarray) -> np.ndarray:
    return samples.astype(np.float32) / 32767


def wer(reference: list[str], heard: list[str]) -> float | None:
    try:
        import jiwer
    except ImportError:
        return None
    return round(jiwer.wer([words(t) for t in reference], [words(t) for t in heard]), 4)


def rates(audio_s: float, seconds: float) -> dict[str, float]:
    """Real-time factor and audio hours per device hour (one device: audio seconds per second)."""
    return {"seconds": round(seconds, 3), "rtf": round(seconds / audio_s, 5), "audio_h_per_device_h": round(audio_s / seconds, 1)}


def long_file(model: engine.SpeechModel, rule: engine.BatchRule, audio: np.ndarray, reference: str, repeats: int) -> dict:
    """Window after window, the job's batched path and bare batched faster-whisper, on one long file
    (``reference``: its text)."""
    audio_s, options = audio.shape[0] / MODEL_RATE, JobOptions(model="tiny.en", language="en")
    result: dict[str, Any] = {"audio_s": round(audio_s, 1), "batch_size": rule.size}
    for name, path_rule in (("sequential", engine.BatchRule(0, 0.0)), ("batched", engine.BatchRule(rule.size, 0.0))):
        model.rule = path_rule
        seconds, _, (transcript, _) = best_of(repeats, lambda: model.transcribe("long", audio, options, 5))
        result[name] = {**rates(audio_s, seconds), "inference": transcript.options["inference"], "text": transcript.text}
    seconds, _, text = bare_batched(model, audio, rule.size, repeats)
    result["bare_batched"] = {**rates(audio_s, seconds), "text": text}
    model.rule = rule
    for name in ("sequential", "batched", "bare_batched"):
        result[name]["wer"] = wer([reference], [result[name].pop("text")])
    result["batched_vs_bare"] = round(result["bare_batched"]["seconds"] / result["batched"]["seconds"], 3)
    result["batched_vs_sequential"] = round(result["sequential"]["seconds"] / result["batched"]["seconds"], 3)
    return result


def short_files(
    model: engine.SpeechModel, rule: engine.BatchRule, clips: list[np.ndarray], texts: list[str], counts: list[int]
) -> dict:
    """One request at a time, N side by side through the dynamic batcher, and the ceiling, over ``clips``."""
    audio_s, options = sum(c.shape[0] for c in clips) / MODEL_RATE, JobOptions(model="tiny.en", language="en")
    model.rule = engine.BatchRule(0, 0.0)  # a short request alone: window after window, as the job decodes it
    started = time.monotonic()
    alone = [model.transcribe(f"c{i}", c, options, 5)[0].text for i, c in enumerate(clips)]
    result: dict[str, Any] = {"clips": len(clips), "audio_s": round(audio_s, 1)}
    result["one_at_a_time"] = {**rates(audio_s, time.monotonic() - started), "wer": wer(texts, alone)}
    seconds, _, text = bare_batched(model, np.concatenate(clips), rule.size)
    result["bare_batched"] = {**rates(audio_s, seconds), "wer": wer([" ".join(texts)], [text])}  # pooled: one text
    for count in counts:
        started = time.monotonic()
        heard = dynamic_texts(model, clips, count, rule.size)
        run: dict[str, Any] = {**rates(audio_s, time.monotonic() - started), "wer": wer(texts, heard)}
        run["vs_one_at_a_time"] = round(result["one_at_a_time"]["seconds"] / run["seconds"], 2)
        run["efficiency_vs_bare_batched"] = round(seconds / run["seconds"], 3)
        result[f"dynamic_{count}"] = run
    model.rule = rule
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write-inputs", type=Path, help="decode the inputs into this folder and stop")
    parser.add_argument("--inputs", type=Path, default=REPO / ".gpu" / "inputs")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--minutes", type=float, default=10.0, help="the long file's length")
    parser.add_argument("--rounds", type=int, default=8, help="times over the 50 voice notes")
    parser.add_argument("--requests", default="16,64", help="requests side by side, one run each")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.write_inputs:
        write_inputs(args.write_inputs)
        return {}
    import ctranslate2

    settings = Settings.from_env(None, device=args.device)
    placement = engine.choose_placement(settings, ctranslate2.get_cuda_device_count(), engine.available_cpus())
    rule = engine.BatchRule.for_device(settings, placement.device)
    model = engine.SpeechModel("tiny.en", engine.resolve_model_path("tiny.en", settings), placement, rule)
    texts = json.loads((args.inputs / "texts.json").read_text())
    standup = to_float(np.load(args.inputs / "standup.npy"))
    tiles = max(1, round(args.minutes * 60 * MODEL_RATE / standup.shape[0]))
    with np.load(args.inputs / "notes.npz") as saved:
        notes = [to_float(saved[f"arr_{i}"]) for i in range(len(saved.files))]
    result: dict[str, Any] = {
        "device": placement.device,
        "device_name": device_name(placement.device),
        "compute_type": placement.compute_type,
        "ctranslate2": ctranslate2.__version__,
        "model_load_s": round(model.load_s, 2),
        "rule": {"batch_size": rule.size, "min_audio_s": rule.min_audio_s, "requests": rule.requests},
    }
    reference = " ".join([texts["standup"]] * tiles)
    result["long_file"] = long_file(model, rule, np.tile(standup, tiles), reference, args.repeats)
    counts = [int(n) for n in args.requests.split(",")]
    result["short_files"] = short_files(model, rule, notes * args.rounds, texts["notes"] * args.rounds, counts)
    print(json.dumps(result, indent=2), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
