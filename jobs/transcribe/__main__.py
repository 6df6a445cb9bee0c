"""``python -m jobs.transcribe``: one task; a non-zero exit asks Cloud Run to retry the task."""

from .startup import MARKS  # noqa: I001 (first: it stamps the interpreter's start before the heavy imports)

import logging
import sys

from mixscribe.logs import setup_logging

from .main import main

MARKS.mark("imports")

if __name__ == "__main__":
    try:
        setup_logging("transcribe")
        main()
    except Exception:  # one JSON line with the stack, then a non-zero exit for Cloud Run's retry
        logging.getLogger("transcribe").critical("task crashed", exc_info=True)
        sys.exit(1)
