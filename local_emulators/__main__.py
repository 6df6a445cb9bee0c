"""``python -m local_emulators up|down|status|demo`` (stack state and logs under ``.local/``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .stack import REPO, STATE_FILE, LocalStack, StackOptions, stop_from_state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_emulators", description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status", "demo"))
    parser.add_argument("--root", type=Path, default=REPO / ".local", help="state, logs and env file")
    parser.add_argument("--tasks", type=int, default=1, help="tasks per transcription job execution")
    parser.add_argument("--no-analytics", action="store_true", help="do not run the analytics pipeline")
    args = parser.parse_args(argv)
    root: Path = args.root
    if args.command == "up":
        if (root / STATE_FILE).exists():
            print(f"a stack is already up ({root / STATE_FILE}); run 'down' first", file=sys.stderr)
            return 1
        options = StackOptions(transcribe_tasks=args.tasks, analytics=not args.no_analytics)
        env = LocalStack(root, options).start()
        print(f"local stack up; environment in {root / 'env'} (source it: set -a; . {root / 'env'}; set +a)")
        for key, value in env.items():
            print(f"  {key}={value}")
        return 0
    if args.command == "down":
        stopped = stop_from_state(root)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        return 0
    if args.command == "status":
        path = root / STATE_FILE
        print(json.dumps(json.loads(path.read_text()), indent=2) if path.exists() else "down")
        return 0
    from .demo import run_demo

    return run_demo(root, args.tasks, analytics=not args.no_analytics)


if __name__ == "__main__":
    sys.exit(main())
