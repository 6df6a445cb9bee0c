"""``mixscribe-edge`` / ``python -m edge_agent``: run the agent, drain the spool, show status.

python -m edge_agent run --config /etc/mixscribe/edge.toml
python -m edge_agent run --source samples/two_voices.wav --fast --spool /tmp/spool --bucket B
python -m edge_agent drain --config edge.toml        # upload the backlog, then exit
python -m edge_agent status --spool /var/spool/mixscribe [--once]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from mixscribe.logs import setup_logging

from .agent import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, Agent
from .config import AgentConfig

BAR = 40


def _overrides(args: argparse.Namespace) -> dict:
    return {
        "source": args.source,
        "spool_dir": args.spool,
        "bucket": args.bucket,
        "device_id": args.device_id,
        "segment_s": args.segment_s,
        "quiet_window_s": args.quiet_window_s,
        "project": args.project,
        "events_topic": args.events_topic,
        "spool_budget_bytes": args.spool_budget_bytes,
        "bandwidth_bytes_s": args.bandwidth_bytes_s,
        "realtime": False if args.fast else None,
        "exit_when_drained": True if args.exit_when_drained else None,
        "spool_full_hold_s": args.spool_full_hold_s,
    }


def meter(dbfs: float | None) -> str:
    """A 40-character bar from -60 dBFS to 0."""
    if dbfs is None:
        return "·" * BAR
    filled = max(0, min(BAR, int((dbfs + 60) / 60 * BAR)))
    return "█" * filled + "·" * (BAR - filled)


def show_status(spool: Path, once: bool) -> int:
    path = spool / "status.json"
    while True:
        if not path.exists():
            print(f"no status at {path}: is the agent running with spool_dir={spool}?", file=sys.stderr)
            return EXIT_FAILED
        status = json.loads(path.read_text())
        age = time.time() - path.stat().st_mtime
        lines = [
            f"device {status.get('device')}  session {status.get('session')}  "
            f"({'live' if age < 5 else f'stale: {age:.0f} s old'})"
        ]
        for index, peak in enumerate(status.get("live_peaks_dbfs") or []):
            lines.append(f"  ch{index + 1} {meter(peak)} {peak if peak is not None else '-inf'} dBFS")
        last = status.get("last_upload_at")
        lines.append(
            f"  spool: {status.get('spooled')} segments, {status.get('spool_bytes')} of "
            f"{status.get('spool_budget_bytes')} bytes; uploaded {status.get('uploaded')}; last upload "
            f"{time.strftime('%H:%M:%S', time.localtime(last)) if last else 'never'}"
        )
        if status.get("last_error"):
            lines.append(f"  last error: {status['last_error']}")
        print("\n".join(lines), flush=True)
        if once:
            return EXIT_OK
        time.sleep(1)
        print(f"\x1b[{len(lines)}A\x1b[J", end="")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mixscribe-edge", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "drain"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--config", help="TOML file (see README: edge agent)")
        cmd.add_argument("--source", help="device | tone | a WAV/FLAC file to replay")
        cmd.add_argument("--fast", action="store_true", help="replay as fast as possible instead of real time")
        cmd.add_argument("--spool")
        cmd.add_argument("--bucket")
        cmd.add_argument("--project")
        cmd.add_argument("--events-topic")
        cmd.add_argument("--device-id")
        cmd.add_argument("--segment-s", type=float)
        cmd.add_argument("--quiet-window-s", type=float)
        cmd.add_argument("--spool-budget-bytes", type=int)
        cmd.add_argument("--spool-full-hold-s", type=float, help="spool full: keep uploading this long, then exit 3")
        cmd.add_argument("--bandwidth-bytes-s", type=int)
        cmd.add_argument("--exit-when-drained", action="store_true")
        cmd.add_argument("--timeout-s", type=float, help="drain: give up after this long")
    status = sub.add_parser("status")
    status.add_argument("--spool", required=True)
    status.add_argument("--once", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "status":
        return show_status(Path(args.spool), args.once)
    setup_logging("edge")
    try:
        config = AgentConfig.load(args.config, _overrides(args))
    except (ValueError, OSError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    agent = Agent(config)
    if args.command == "drain":
        return EXIT_OK if agent.drain(args.timeout_s) else EXIT_FAILED
    return agent.run()


if __name__ == "__main__":
    sys.exit(main())
