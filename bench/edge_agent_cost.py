"""Edge agent cost: CPU per minute of captured 48 kHz/24-bit stereo audio (FLAC encode + levels +
CRC32C + upload), as a fraction of one core, and the agent's upload throughput against a plain
google-cloud-storage upload of the same files, both into a local fake-gcs-server in this run.

Throughput is taken over ``--rounds`` rounds, each uploading every segment once each way into a
bucket of its own, the order alternating round by round (a one-shot pair swings ±40 % on a busy
machine, and whichever side goes second tends to gain): the ratio reported is the geometric mean of
the median round of each order, every round's beside it.

    python -m bench.edge_agent_cost [--minutes 4] [--rounds 8]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from edge_agent.config import AgentConfig
from edge_agent.recorder import Recorder
from edge_agent.sources import BLOCK_FRAMES
from edge_agent.spool import SegmentRecord, Spool
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


def upload_round(client: Any, config: AgentConfig, spool: Spool, records: list[SegmentRecord], copies: Path, index: int) -> dict:
    """Every segment uploaded by the agent and by a plain client (from ``copies``: the spool deletes
    what it uploaded, so each round puts its files back first) into a bucket of this round's; the
    plain client goes first in odd rounds. Wall seconds of each, and the agent's CPU seconds."""
    for record in records:
        shutil.copy(copies / record.path.name, record.path)
    config = replace(config, bucket=f"bench-{index}")
    client.create_bucket(config.bucket)
    uploader = Uploader(config, spool, client, None, threading.Event())
    bucket = client.bucket(config.bucket)
    result: dict[str, float] = {}
    for side in ("plain", "agent") if index % 2 else ("agent", "plain"):
        cpu, wall = time.process_time(), time.perf_counter()
        for record in records:
            if side == "agent":
                uploader.upload(record)
            else:
                path = copies / record.path.name
                bucket.blob(f"plain/{path.name}").upload_from_filename(str(path), content_type="audio/flac")
        result[f"{side}_s"] = time.perf_counter() - wall
        if side == "agent":
            result["cpu_s"] = time.process_time() - cpu
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=8, help="an even number: as many rounds of each order")
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (one of each order)")
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
            encode_cpu, record_wall = time.process_time() - cpu0, time.perf_counter() - wall0
            records = spool.pending()
            copies = root / "copies"
            copies.mkdir()
            for record in records:
                shutil.copy(record.path, copies / record.path.name)
            rounds = [upload_round(client, config, spool, records, copies, index) for index in range(args.rounds)]
        finally:
            server.stop()
    size = sum(r.size for r in records)
    upload_cpu = statistics.median(r["cpu_s"] for r in rounds)
    cpu_per_minute = (encode_cpu + upload_cpu) / args.minutes
    ratios = [r["plain_s"] / r["agent_s"] for r in rounds]
    result = {
        "audio_minutes": args.minutes,
        "segments": len(records),
        "bytes": size,
        "encode_cpu_s": round(encode_cpu, 3),
        "upload_cpu_s": round(upload_cpu, 3),
        "cpu_s_per_audio_minute": round(cpu_per_minute, 3),
        "core_fraction": round(cpu_per_minute / 60.0, 4),
        "agent_upload_mb_s": round(size / statistics.median(r["agent_s"] for r in rounds) / 1e6, 1),
        "plain_upload_mb_s": round(size / statistics.median(r["plain_s"] for r in rounds) / 1e6, 1),
        "throughput_ratio": round(math.sqrt(statistics.median(ratios[0::2]) * statistics.median(ratios[1::2])), 2),
        "throughput_ratio_by_order": {
            "agent_first": round(statistics.median(ratios[0::2]), 2),
            "plain_first": round(statistics.median(ratios[1::2]), 2),
        },
        "throughput_ratio_rounds": [round(r, 2) for r in ratios],
        "record_wall_s": round(record_wall, 2),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
