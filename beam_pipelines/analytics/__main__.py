"""``python -m beam_pipelines.analytics (streaming|backfill|events-file) …`` or ``query NAME`` / ``report``."""

import sys

from mixscribe.logs import setup_logging

if __name__ == "__main__":
    setup_logging("analytics")
    if len(sys.argv) > 1 and sys.argv[1] in ("query", "report"):
        from .report import main as report_main

        sys.exit(report_main(sys.argv[1:]))
    from .pipeline import run

    run(sys.argv[1:])
