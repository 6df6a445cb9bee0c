"""Dynamic batching on the local stack: a burst of short uploads to one task, requests side by side
sharing the model's windows and batches, against the same burst one request at a time; the efficiency
against bare batched faster-whisper over the same clips; word error rates.

Two bursts, each on fresh stacks with one task per execution. Voice notes: 50 different short
recordings (tests/support/voices.py: 16 sentences, 4 espeak-ng voices, 3-5 s each; synthetic speech,
so each clip's text is known): the realistic case. Repeated clips: 6 s cuts of the stand-up recording
at 10 offsets, each uploaded five times, as P4 does: the worst case for shared windows (Whisper runs
identical or continuing neighbours together, the check catches it and decodes them again apart),
the first configuration against the last only.
Throughput is audio seconds per second over the task's working window (first job's start to last job's
end, from the jobs' metrics and records: the stack's start and the uploads do not count); the wall
time from the first upload to the last job done is beside it, and the CPU seconds every process
of the stack spent over it (``bench/process_cpu.py``: the task, the emulators, the functions, this
bench), since all of them share the 2 cores the model runs on (the emulators and functions take a
third of the CPU in a burst: the wall-clock efficiency cannot reach the ceiling here, so the task's
CPU seconds against the ceiling's are beside it). The ceiling is faster-whisper's own
``BatchedInferencePipeline`` over the same clips laid end to end (its VAD cuts the windows; same
model, compute type, threads and batch size), files decoded in memory: no storage, no records, no
outputs. Word error rate of each run's jobs against the voice notes' sentences (pooled); the
speech samples cut in 6 s clips, clip by clip against side by side, in-process.

    python -m bench.dynamic_batching [--burst 50] [--requests 1,4,16] [--skip-repeated] [--quality-only]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import jiwer
import numpy as np

from bench import process_cpu
from bench.side_by_side import bare_batched, dynamic_texts, words
from bench.stack_throughput import SAMPLES, clip, stack
from mixscribe.audio import MODEL_RATE, decode_audio
from mixscribe.config import Settings
from mixscribe.jobs import JobOptions
from mixscribe.transcription import engine


def voice_notes(root: Path, count: int) -> tuple[list[Path], list[str]]:
    """``count`` different short recordings (sentence ``i % 16`` in a voice that changes with ``i``)."""
    from tests.support.voices import RATE, SENTENCES, VOICES, synthesize

    voices, files, texts = sorted(VOICES), [], []
    for i in range(count):
        text, voice = SENTENCES[i % len(SENTENCES)], voices[(i // len(SENTENCES) + i) % len(voices)]
        path = root / f"note-{i:02d}.flac"
        raw = synthesize(voice, text).astype("<f4").tobytes()
        command = ["ffmpeg", "-loglevel", "error", "-y", "-f", "f32le", "-ar", str(RATE), "-ac", "1", "-i", "-", str(path)]
        subprocess.run(command, input=raw, check=True)
        files.append(path)
        texts.append(text)
    return files, texts


def burst(root: Path, files: list[Path], requests: int, name: str) -> dict:
    local, client = stack(root / f"{name}-{requests}", 1, MIXSCRIBE_CPU_BATCH_REQUESTS=str(requests))
    try:
        started, before = time.monotonic(), process_cpu.snapshot()
        ids = [client.upload(path, f"users/bench/dyn-{i}.flac") for i, path in enumerate(files)]
        client.wait_done(ids)
        wall_s, cpu = time.monotonic() - started, process_cpu.cpu_by_part(before, process_cpu.snapshot())
        results = client.gcs.bucket(client.env["MIXSCRIBE_RESULTS_BUCKET"])
        begins, ends, texts, inference, audio_s, phases = [], [], [], [], 0.0, dict[str, float]()
        for job_id in ids:
            doc = client.db.collection("jobs").document(job_id).get().to_dict() or {}
            metrics = client.metrics(job_id)
            transcript = json.loads(results.blob(f"jobs/{job_id}/transcript.json").download_as_bytes())
            end = doc["updated_at"].timestamp()
            begins.append(end - metrics["timings"]["total_s"])
            ends.append(end)
            audio_s += metrics["duration_s"]
            for phase, seconds in metrics["timings"].items():
                phases[phase] = phases.get(phase, 0.0) + seconds / len(ids)
            texts.append(" ".join(s["text"] for s in transcript["segments"]))
            options = transcript["options"]
            apart = "-apart" if options.get("decoded_apart") else ""
            inference.append(f"{options['inference']}x{options.get('batch_requests', 1)}{apart}")
    finally:
        local.stop()
    window_s = max(ends) - min(begins)
    return {
        "requests": requests,
        "wall_s": round(wall_s, 2),
        "window_s": round(window_s, 2),
        "audio_s": round(audio_s, 1),
        "audio_s_per_s": round(audio_s / window_s, 2),
        "inference": {kind: inference.count(kind) for kind in sorted(set(inference))},
        "job_timings_mean_s": {phase: round(seconds, 3) for phase, seconds in sorted(phases.items())},
        "cpu_s_by_part": cpu,  # CPU seconds from the first upload to the last job done, per process kind
        "task_cpu_share": round(cpu.get("task", 0.0) / max(1e-9, sum(cpu.values())), 3),
        "texts": texts,
    }


def bare_batched_over(files: list[Path], batch_size: int) -> dict:
    """faster-whisper's batched pipeline over the clips end to end (the ceiling), best of two runs."""
    settings = Settings.from_env({})
    placement = engine.choose_placement(settings, 0, engine.available_cpus())
    model = engine.SpeechModel("tiny.en", engine.resolve_model_path("tiny.en", settings), placement)
    audio = np.concatenate([decode_audio(str(f), 600).samples for f in files])
    seconds, cpu_s, _ = bare_batched(model, audio, batch_size)
    audio_s = audio.shape[0] / MODEL_RATE
    return {
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu_s, 1),  # this process's CPU seconds over that run, every thread's
        "audio_s": round(audio_s, 1),
        "audio_s_per_s": round(audio_s / seconds, 2),
    }


def quality(requests: int, batch_size: int) -> dict:
    """WER of the speech samples cut into 6 s clips: clip by clip against side by side in shared windows."""
    settings = Settings.from_env({})
    placement = engine.choose_placement(settings, 0, engine.available_cpus())
    model = engine.SpeechModel("tiny.en", engine.resolve_model_path("tiny.en", settings), placement, engine.BatchRule(0, 0.0))
    options, result = JobOptions(model="tiny.en", language="en"), dict[str, dict[str, float]]()
    pooled: tuple[list[str], list[str], list[str]] = ([], [], [])
    for name, path in (("meeting", SAMPLES / "meeting.flac"), ("standup", SAMPLES / "standup.opus")):
        samples = decode_audio(str(path), 600).samples
        clips = [samples[i : i + 6 * MODEL_RATE] for i in range(0, samples.shape[0], 6 * MODEL_RATE)]
        reference = words((SAMPLES / f"{name}.txt").read_text())
        sequential = " ".join(model.transcribe(f"c{i}", c, options, 5)[0].text for i, c in enumerate(clips))
        dynamic = " ".join(dynamic_texts(model, clips, requests, batch_size))
        for kept, text in zip(pooled, (reference, sequential, dynamic)):
            kept.append(words(text))
        result[name] = {
            "clips": len(clips),
            "sequential_wer": round(jiwer.wer(reference, words(sequential)), 4),
            "dynamic_wer": round(jiwer.wer(reference, words(dynamic)), 4),
        }
    result["pooled"] = {
        "sequential_wer": round(jiwer.wer(pooled[0], pooled[1]), 4),
        "dynamic_wer": round(jiwer.wer(pooled[0], pooled[2]), 4),
    }
    return result


def agreement(texts: list[str], reference: list[str]) -> float:
    """Share of the reference's words found again, over all jobs."""
    same = total = 0
    for text, ref in zip(texts, reference):
        mine, theirs = words(text).split(), words(ref).split()
        same += sum(min(mine.count(w), theirs.count(w)) for w in set(theirs))
        total += len(theirs)
    return round(same / max(1, total), 3)


def compare(root: Path, name: str, files: list[Path], counts: list[int], batch_size: int, texts: list[str] | None) -> dict:
    """One burst per configuration, the ceiling, and the ratios."""
    runs = [burst(root, files, n, name) for n in counts]
    ceiling = bare_batched_over(files, batch_size)
    base, baseline_texts = runs[0], runs[0]["texts"]
    for run in runs:
        run["throughput_ratio"] = round(run["audio_s_per_s"] / base["audio_s_per_s"], 2)
        run["efficiency_vs_bare_batched"] = round(run["audio_s_per_s"] / ceiling["audio_s_per_s"], 2)
        # per CPU second: the task's own CPU (its start included) against the bare pipeline's, the
        # emulators', functions' and bench's left out (in a deployment they are not on the task's cores)
        run["cpu_efficiency_vs_bare_batched"] = round(ceiling["cpu_s"] / max(1e-9, run["cpu_s_by_part"]["task"]), 2)
        heard = run.pop("texts")
        run["words_agreeing_with_baseline"] = agreement(heard, baseline_texts)
        if texts is not None:
            run["wer"] = round(jiwer.wer([words(t) for t in texts], [words(t) for t in heard]), 4)
    return {"clips": len(files), "runs": runs, "bare_batched": ceiling}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--requests", default="1,4,16", help="requests side by side per configuration; the first is the baseline")
    parser.add_argument("--skip-repeated", action="store_true", help="only the voice notes")
    parser.add_argument("--quality-only", action="store_true")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.requests.split(",")]
    settings = Settings.from_env({})
    result: dict = {"batch_size": settings.cpu_batch_size, "quality": quality(max(counts), settings.cpu_batch_size)}
    if not args.quality_only:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            notes, texts = voice_notes(root, args.burst)
            result["voice_notes"] = compare(root, "notes", notes, counts, settings.cpu_batch_size, texts)
            if not args.skip_repeated:
                cuts = [clip(root / f"d{i}.flac", 6, start=(i * 7) % 70) for i in range(args.burst)]
                result["repeated_clips"] = compare(root, "repeated", cuts, [counts[0], counts[-1]], settings.cpu_batch_size, None)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
