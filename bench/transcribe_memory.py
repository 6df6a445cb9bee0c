"""Peak memory of a transcription task on a 1-hour file, measured in a fresh process.

The task decodes the file in one streaming pass (the encoded file is never read whole; the 16 kHz
mono float32 signal is kept: 230 MB per hour), loads the model and transcribes. By default the
model transcribes the first ``--transcribe-minutes`` of the decoded hour (faster-whisper works one
30-second window at a time on that signal, so its working set does not grow with the length);
``--transcribe-minutes 60`` transcribes the whole hour (about 7 minutes on 2 cores).

    python -m bench.transcribe_memory [--minutes 60] [--transcribe-minutes 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "standup.opus"

CHILD = r"""
import json, os, resource, sys, time
from mixscribe.transcription.engine import SpeechModel, available_cpus, choose_placement, resolve_model_path
from mixscribe.audio import MODEL_RATE, decode_audio
from mixscribe.config import Settings
from mixscribe.jobs import JobOptions
import ctranslate2
path, minutes = sys.argv[1], float(sys.argv[2])
def rss():  # VmHWM: this process's peak resident set (ru_maxrss would carry the parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
base = rss()
started = time.perf_counter()
audio = decode_audio(path, 4 * 3600)
decoded = rss(); decode_s = time.perf_counter() - started
settings = Settings.from_env()
placement = choose_placement(settings, ctranslate2.get_cuda_device_count(), available_cpus())
model = SpeechModel("tiny.en", resolve_model_path("tiny.en", settings), placement)
loaded = rss()
started = time.perf_counter()
model.transcribe("bench", audio.samples[: int(minutes * 60 * MODEL_RATE)], JobOptions(model="tiny.en", language="en"), 5)
print(json.dumps({"audio_s": round(audio.duration_s, 1), "start_mb": round(base), "after_decode_mb": round(decoded),
                  "after_model_mb": round(loaded), "peak_mb": round(rss()), "decode_s": round(decode_s, 1),
                  "transcribed_s": minutes * 60, "transcribe_s": round(time.perf_counter() - started, 1)}))
"""


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--transcribe-minutes", type=float, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        long_file = Path(tmp) / "hour.opus"
        subprocess.run(
            [
                "ffmpeg",
                "-loglevel",
                "error",
                "-y",
                "-stream_loop",
                "-1",
                "-i",
                str(SAMPLE),
                "-t",
                str(args.minutes * 60),
                "-c:a",
                "libopus",
                "-b:a",
                "32k",
                str(long_file),
            ],
            check=True,
        )
        file_mb = round(long_file.stat().st_size / 1e6, 1)
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(long_file), str(args.transcribe_minutes)],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["file_mb"] = file_mb
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
