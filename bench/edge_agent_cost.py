"""Edge agent cost: CPU per minute of captured 48 kHz/24-bit stereo audio (FLAC encode + levels +
CRC32C + upload), as a fraction of one core, and the agent's upload throughput against a plain
google-cloud-storage upload of the same files, both into a local fake-gcs-server in this run.

Throughput is taken over ``--rounds`` rounds, each uploading every segment once each way into a
bucket of its own, segment by segment, which side goes first alternating pair by pair (a one-shot
comparison swings ±40 % on a busy machine, whichever side goes second tends to gain, and the server
drifts over a round): the ratio reported is the median over every pair of the plain upload's seconds
over the agent's, each order's median and every round's totals beside it.

    python -m bench.edge_agent_cost [--minutes 4] [--rounds 8]
"""

from __future__ import annotations

import argparse
import json
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
    what it uploaded, so each round puts its files back first) into a bucket of this round's, segment
    by segment, which side goes first alternating segment by segment and round by round (slow drifts of
    the server fall on both sides alike). Wall seconds of each side, and the agent's CPU seconds."""
    for record in records:
        shutil.copy(copies / record.path.name, record.path)
    config = replace(config, bucket=f"bench-{index}")
    client.create_bucket(config.bucket)
    uploader = Uploader(config, spool, client, None, threading.Event())
    bucket = client.bucket(config.bucket)
    result: dict[str, Any] = {"plain_s": 0.0, "agent_s": 0.0, "cpu_s": 0.0, "pair_ratios": []}
    for position, record in enumerate(records):
        pair = {}
        for side in ("plain", "agent") if (index + position) % 2 else ("agent", "plain"):
            cpu, wall = time.process_time(), time.perf_counter()
            if side == "agent":
                uploader.upload(record)
            else:
                path = copies / record.path.name
                bucket.blob(f"plain/{path.name}").upload_from_filename(str(path), content_type="audio/flac")
            pair[side] = time.perf_counter() - wall
            result[f"{side}_s"] += pair[side]
            if side == "agent":
                result["cpu_s"] += time.process_time() - cpu
        result["pair_ratios"].append((pair["plain"] / pair["agent"], (index + position) % 2 == 0))  # (ratio, agent first)
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=8, help="rounds of every segment uploaded each way")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
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
    pairs = [ratio for r in rounds for ratio, _ in r["pair_ratios"]]
    agent_first = [ratio for r in rounds for ratio, first in r["pair_ratios"] if first]
    plain_first = [ratio for r in rounds for ratio, first in r["pair_ratios"] if not first]
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
        "throughput_ratio": round(statistics.median(pairs), 3),
        "throughput_ratio_by_order": {  # the pairs where each side went first
            "agent_first": round(statistics.median(agent_first), 3),
            "plain_first": round(statistics.median(plain_first), 3),
        },
        "pairs": len(pairs),
        "throughput_ratio_rounds": [round(r, 2) for r in ratios],  # each round's totals, plain over agent
        "record_wall_s": round(record_wall, 2),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
