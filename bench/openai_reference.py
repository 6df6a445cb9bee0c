"""The same ``client.audio.transcriptions.create`` call against the local stack and against a reference
OpenAI-compatible faster-whisper server, on the same model, cores and decoding options.

The reference is faster-whisper-server 0.0.3 from PyPI (andyjjrt, MIT; FastAPI + uvicorn over
faster-whisper), installed from ``bench/reference_server/requirements.txt`` into a venv of its own under
``.local/bench/`` and run offline on the baked ``tiny.en`` folder (``local_files_only``), CPU int8, the
threads the stack's one transcription task gets, beam 5, VAD and word timestamps as ours. Ours also stores
the upload, records a job, writes every output and answers from them; its result cache is off so that
every call transcribes. Measured: the median latency of sequential calls on a 10 s clip (after one warm-up
call each), and requests per minute for 20 concurrent callers (two calls each).

    python -m bench.openai_reference [--calls 5] [--callers 20]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai

from local_emulators.stack import LocalStack, StackOptions
from mixscribe.config import Settings
from tests.support.api_client import ApiClient

from .stack_throughput import clip

REPO = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO / "bench" / "reference_server" / "requirements.txt"
THREADS = max(1, os.cpu_count() or 1)  # the stack's single task gets every core (local_emulators.run_jobs)


def reference_venv() -> Path:
    """The reference server's venv, made once per lock file (cached under .local/bench/)."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    venv = REPO / ".local" / "bench" / f"reference-{digest}"
    if not (venv / ".complete").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", "-r", str(REQUIREMENTS)]
        subprocess.run(pip, check=True)
        (venv / ".complete").touch()
    return venv


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ReferenceServer:
    def __init__(self, root: Path, model_dir: Path) -> None:
        self.port = free_port()
        config = {
            "models": [
                {
                    "name": "whisper-1",  # the server reads the form field model_name, which the openai client never sends
                    "path": str(model_dir),
                    "model_options": {"device": "cpu", "compute_type": "int8", "cpu_threads": THREADS, "local_files_only": True},
                    "transcribe_options": {"beam_size": 5, "vad_filter": True, "word_timestamps": True, "language": "en"},
                }
            ]
        }
        self.config = root / "reference.yaml"
        self.config.write_text(json.dumps(config))  # JSON is YAML
        self.log = root / "reference.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> ReferenceServer:
        venv = reference_venv()
        argv = [str(venv / "bin" / "faster-whisper-server"), "--config", str(self.config), "--host", "127.0.0.1"]
        env = {"PATH": os.environ["PATH"], "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(THREADS)}
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([*argv, "--port", str(self.port)], stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        import requests

        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", timeout=2).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.3)
        raise RuntimeError(f"reference server did not start: {self.log.read_text()[-2000:]}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def timed_call(client: openai.OpenAI, audio: Path) -> tuple[float, str]:
    started = time.perf_counter()
    with audio.open("rb") as handle:
        result = client.audio.transcriptions.create(model="whisper-1", file=handle)
    return time.perf_counter() - started, result.text.strip()


def sequential(client: openai.OpenAI, audio: Path, calls: int) -> dict:
    timed_call(client, audio)  # warm-up: model loaded, connections and (ours) the task started
    runs = [timed_call(client, audio) for _ in range(calls)]
    seconds = [s for s, _ in runs]
    return {"median_s": round(statistics.median(seconds), 3), "runs_s": [round(s, 3) for s in seconds], "text": runs[-1][1]}


def concurrent(client: openai.OpenAI, audio: Path, callers: int, each: int) -> dict:
    started = time.perf_counter()
    with ThreadPoolExecutor(callers) as pool:
        results = list(pool.map(lambda _: [timed_call(client, audio) for _ in range(each)], range(callers)))
    wall = time.perf_counter() - started
    latencies = sorted(s for caller in results for s, _ in caller)
    return {
        "requests": len(latencies),
        "wall_s": round(wall, 2),
        "requests_per_min": round(60 * len(latencies) / wall, 1),
        "p50_s": round(latencies[len(latencies) // 2], 2),
        "max_s": round(latencies[-1], 2),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--callers", type=int, default=20)
    parser.add_argument("--each", type=int, default=2)
    args = parser.parse_args(argv)
    service_env = {
        "MIXSCRIBE_RATE_PER_MINUTE": "1000000",
        "MIXSCRIBE_RATE_PER_HOUR": "1000000",
        "MIXSCRIBE_RESULT_CACHE": "false",  # every call transcribes, as the reference does
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        audio = clip(root / "ten.flac", 10)
        model_dir = Path(Settings().model_root) / "tiny.en"
        with ReferenceServer(root, model_dir.resolve()) as reference:
            ref_client = openai.OpenAI(base_url=f"{reference.url}/v1", api_key="unused", max_retries=0, timeout=600)
            ref_seq = sequential(ref_client, audio, args.calls)
            ref_conc = concurrent(ref_client, audio, args.callers, args.each)
        stack = LocalStack(root / "stack", StackOptions(idle_timeout_s=120, service_env=service_env))
        env = stack.start()
        try:
            api = ApiClient.for_stack(env, "bench-openai")
            key = api.call("POST", "/v1/keys", json={"name": "bench"}, check=False).json()["key"]
            ours_client = openai.OpenAI(base_url=f"{env['MIXSCRIBE_API_URL']}/v1", api_key=key, max_retries=0, timeout=600)
            ours_seq = sequential(ours_client, audio, args.calls)
            ours_conc = concurrent(ours_client, audio, args.callers, args.each)
        finally:
            stack.stop()
    result = {
        "reference": "faster-whisper-server 0.0.3 (PyPI), uvicorn, tiny.en CPU int8",
        "threads": THREADS,
        "clip_s": 10,
        "ours": {"sequential": ours_seq, "concurrent": ours_conc},
        "reference_server": {"sequential": ref_seq, "concurrent": ref_conc},
        "latency_ratio": round(ours_seq["median_s"] / ref_seq["median_s"], 2),
        "throughput_ratio": round(ours_conc["requests_per_min"] / ref_conc["requests_per_min"], 2),
        "same_text": ours_seq["text"] == ref_seq["text"],
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
