"""Edge agent cost: CPU per minute of captured 48 kHz/24-bit stereo audio (FLAC encode + levels +
CRC32C + upload), as a fraction of one core, and the agent's upload throughput against a plain
google-cloud-storage upload of the same files, both into a local fake-gcs-server in this run.

    python -m bench.edge_agent_cost [--minutes 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile

from edge_agent.config import AgentConfig
from edge_agent.recorder import Recorder
from edge_agent.sources import BLOCK_FRAMES
from edge_agent.spool import Spool
from edge_agent.uploader import Uploader
from tests.conftest import two_voices
from tests.support.gcs_server import GcsServer


def recording(folder: Path, minutes: float) -> Path:
    """``minutes`` of the two-voice recording, repeated (real speech compresses like real speech)."""
    one = two_voices(folder / "one.wav")
    frames = soundfile.read(str(one), dtype="int32", always_2d=True)[0]
    reps = int(np.ceil(minutes * 60 * 48000 / frames.shape[0]))
    path = folder / "long.wav"
    soundfile.write(str(path), np.tile(frames, (reps, 1))[: int(minutes * 60 * 48000)], 48000, subtype="PCM_24")
    return path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=2.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = recording(root, args.minutes)
        server = GcsServer(root / "gcs")
        server.start()
        try:
            client = server.client()
            client.create_bucket("bench")
            config = AgentConfig(
                source=str(source),
                spool_dir=str(root / "spool"),
                bucket="bench",
                segment_s=30.0,
                quiet_window_s=3.0,
                realtime=False,
            )
            spool = Spool(config.spool)
            recorder = Recorder(config, spool, "bench", datetime.now(UTC))
            cpu0, wall0 = time.process_time(), time.perf_counter()
            with soundfile.SoundFile(str(source)) as handle:
                for block in handle.blocks(blocksize=BLOCK_FRAMES, dtype="int32", always_2d=True):
                    recorder.on_block(np.ascontiguousarray(block))
            recorder.finish()
            recorder.run()
            encode_cpu = time.process_time() - cpu0
            records = spool.pending()
            copies = root / "copies"
            copies.mkdir()
            for record in records:
                shutil.copy(record.path, copies / record.path.name)
            uploader = Uploader(config, spool, client, None, threading.Event())
            cpu1, wall1 = time.process_time(), time.perf_counter()
            for record in records:
                uploader.upload(record)
            upload_cpu, upload_wall = time.process_time() - cpu1, time.perf_counter() - wall1
            bucket = client.bucket("bench")
            wall2 = time.perf_counter()
            for path in sorted(copies.iterdir()):
                bucket.blob(f"plain/{path.name}").upload_from_filename(str(path), content_type="audio/flac")
            plain_wall = time.perf_counter() - wall2
        finally:
            server.stop()
    size = sum(r.size for r in records)
    cpu_per_minute = (encode_cpu + upload_cpu) / args.minutes
    result = {
        "audio_minutes": args.minutes,
        "segments": len(records),
        "bytes": size,
        "encode_cpu_s": round(encode_cpu, 3),
        "upload_cpu_s": round(upload_cpu, 3),
        "cpu_s_per_audio_minute": round(cpu_per_minute, 3),
        "core_fraction": round(cpu_per_minute / 60.0, 4),
        "agent_upload_mb_s": round(size / upload_wall / 1e6, 1),
        "plain_upload_mb_s": round(size / plain_wall / 1e6, 1),
        "throughput_ratio": round(plain_wall / upload_wall, 2),
        "record_wall_s": round(time.perf_counter() - wall0 - upload_wall - plain_wall, 2),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
