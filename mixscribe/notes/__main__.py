"""``python -m mixscribe.notes resummarize (--job ID ... | --all-fallback)``: notes again, with the LLM.

Publishes forced notes requests; the notes step re-summarises finished jobs and replaces their
notes (the status stays ``done``). Use it once the LLM is reachable again to replace notes that
came from the extractive fallback.
"""

from __future__ import annotations

import argparse
import sys

from .. import gcp
from ..config import Settings
from ..ports import Documents
from ..store import JOBS
from ..work_requests import NotesRequest, publish_notes_request
from .schema import FALLBACK_GENERATOR


def fallback_job_ids(documents: Documents) -> list[str]:
    return [job_id for job_id, _ in documents.query(JOBS, [("notes.generator", FALLBACK_GENERATOR)], select=["job_id"])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mixscribe.notes", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    resummarize = sub.add_parser("resummarize", help="summarise finished jobs again")
    which = resummarize.add_mutually_exclusive_group(required=True)
    which.add_argument("--job", action="append", help="a job id (repeatable)")
    which.add_argument("--all-fallback", action="store_true", help="every job whose notes came from the fallback")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    job_ids = args.job or fallback_job_ids(gcp.documents(settings))
    publisher = gcp.publisher_client()
    for job_id in job_ids:
        publish_notes_request(publisher, settings, NotesRequest(job_id, force=True))
        print(f"requested new notes for {job_id}")
    if not job_ids:
        print("no jobs to re-summarise")
    return 0


if __name__ == "__main__":
    sys.exit(main())
