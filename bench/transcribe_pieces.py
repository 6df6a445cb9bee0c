"""A long file's piece task: what it does before its model pass, then and now.

Before the one transcription road, every piece task downloaded and decoded the whole file; now the
planner saves each further piece's 16 kHz samples once and a piece task reads its own. Measured on a
``--minutes`` long 48 kHz stereo FLAC (the edge agent's format) cut into ``--pieces``, with the
objects in memory (``tests.fakes.FakeBlobs``: storage transfer not counted, which favours the old way,
whose download is the whole file). Also: the planner's cost of saving the pieces' samples.

    python -m bench.transcribe_pieces [--minutes 20] [--pieces 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from mixscribe.jobs import JobOptions
from mixscribe.transcription.source import cut, fetch_and_decode, load_piece_audio, save_piece_audio
from mixscribe.work_requests import TranscriptionRequest
from tests.fakes import FakeBlobs

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "standup.opus"


def long_flac(path: Path, minutes: float) -> Path:
    args = ["ffmpeg", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", str(SAMPLE), "-t", str(minutes * 60)]
    subprocess.run([*args, "-ar", "48000", "-ac", "2", "-c:a", "flac", str(path)], check=True)
    return path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--pieces", type=int, default=4)
    args = parser.parse_args(argv)
    blobs = FakeBlobs()
    with tempfile.TemporaryDirectory() as tmp:
        source = long_flac(Path(tmp) / "long.flac", args.minutes)
        generation = blobs.put("uploads", "long.flac", source.read_bytes(), "audio/flac")
    request = TranscriptionRequest("bench", "uploads", "long.flac", generation, JobOptions(model="tiny.en"))

    started = time.perf_counter()
    audio = fetch_and_decode(blobs, request, 4 * 3600, {})
    whole_s = time.perf_counter() - started  # what every piece task paid before: the whole file, fetched and decoded
    total = audio.samples.shape[0]
    bounds = [(k * total // args.pieces, (k + 1) * total // args.pieces) for k in range(args.pieces)]

    started = time.perf_counter()
    for index, (low, high) in enumerate(bounds[1:], start=1):
        save_piece_audio(blobs, "results", "bench", index, cut(audio, max(0, low - 16000), min(total, high + 16000)))
    save_s = time.perf_counter() - started  # the planner's extra work, once per job

    loads = []
    for index in range(1, args.pieces):
        started = time.perf_counter()
        load_piece_audio(blobs, "results", "bench", index)
        loads.append(time.perf_counter() - started)
    piece_s = max(loads)
    result = {
        "minutes": args.minutes,
        "pieces": args.pieces,
        "source_mb": round(len(blobs.read("uploads", "long.flac")) / 1e6, 1),
        "whole_fetch_decode_s": round(whole_s, 3),
        "piece_load_s": round(piece_s, 4),
        "planner_save_s": round(save_s, 3),
        "piece_setup_ratio": round(piece_s / whole_s, 4),
        "task_seconds_saved_per_job": round((args.pieces - 1) * (whole_s - piece_s) - save_s, 2),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
