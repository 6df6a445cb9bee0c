"""``python -m local_emulators up|down|status|demo|trace JOB_ID`` (stack state and logs under ``.local/``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .stack import REPO, STATE_FILE, LocalStack, StackOptions, stop_from_state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_emulators", description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status", "demo", "trace"))
    parser.add_argument("job_id", nargs="?", help="trace: the job whose spans to print")
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
    if args.command == "trace":
        return print_trace(root, args.job_id)
    from .demo import run_demo

    return run_demo(root, args.tasks, analytics=not args.no_analytics)


def print_trace(root: Path, job_id: str | None) -> int:
    from .traces import read_spans, render_tree, trace_of_job

    if not job_id:
        print("usage: python -m local_emulators trace JOB_ID", file=sys.stderr)
        return 2
    spans = read_spans(root / "telemetry")
    trace_id = trace_of_job(spans, job_id)
    if trace_id is None:
        print(f"no spans name job {job_id} under {root / 'telemetry'}", file=sys.stderr)
        return 1
    print(f"trace {trace_id} (Cloud Trace: projects/PROJECT/traces/{trace_id})")
    print("\n".join(render_tree(spans, trace_id)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
