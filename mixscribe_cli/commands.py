"""``mixscribe``: transcribe files through a mixscribe API from the command line.

    mixscribe login [--url URL] [--key KEY]     store the API address and an API key (made on the web page)
    mixscribe transcribe FILE… [--format srt] [--wait] [options]
    mixscribe jobs [--status S] [--limit N]
    mixscribe get JOB [--format vtt] [-o FILE]
    mixscribe rm JOB…

Exit status: 0 when everything asked for worked, 1 when a job failed or the API refused something
(the others still done), 2 for a usage error or a missing login.
"""

from __future__ import annotations

import argparse
import getpass
import mimetypes
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from . import __version__
from .client import ApiError, Client
from .config import ClientConfig, ConfigError, load, save

FORMATS = ("txt", "srt", "vtt", "json", "notes.md", "notes.json")
CONTENT_TYPES = {
    ".flac": "audio/flac",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".webm": "audio/webm",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="mixscribe", description="Transcribe audio with a mixscribe API.")
    root.add_argument("--version", action="version", version=f"mixscribe-cli {__version__}")
    root.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    commands = root.add_subparsers(dest="command", required=True)

    login = commands.add_parser("login", help="store the API address and an API key")
    login.add_argument("--url", help="the API's address, e.g. https://api-xyz.a.run.app")
    login.add_argument("--key", help="an API key (asked for when left out; make one on the web page)")

    transcribe = commands.add_parser("transcribe", help="upload files and (with --wait) write their transcripts beside them")
    transcribe.add_argument("files", nargs="+", type=Path, metavar="FILE")
    transcribe.add_argument("--format", action="append", choices=FORMATS, help="outputs to write (repeatable; default txt)")
    transcribe.add_argument("--wait", action="store_true", help="follow each job to its end and write its outputs")
    transcribe.add_argument("--model", help="a model of the API's registry (GET /v1/models)")
    transcribe.add_argument("--language", help="a language code, or auto (default)")
    transcribe.add_argument("--priority", choices=("high", "normal", "batch"))
    transcribe.add_argument("--no-notes", dest="notes", action="store_false", help="skip the notes")
    transcribe.add_argument("--diarize", action="store_true", help="tell the speakers apart")
    transcribe.add_argument("--speakers", type=int, help="how many speakers (with --diarize)")
    transcribe.add_argument("--prompt", help="names and spellings to steer the first window")
    transcribe.add_argument("--hotwords", help="terms to keep in mind throughout")

    jobs = commands.add_parser("jobs", help="list your jobs, newest first")
    jobs.add_argument("--status", choices=("queued", "transcribing", "transcribed", "summarizing", "done", "failed"))
    jobs.add_argument("--limit", type=int, default=20)

    get = commands.add_parser("get", help="print (or save) a job's transcript or notes")
    get.add_argument("job")
    get.add_argument("--format", choices=FORMATS, default="txt")
    get.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")

    rm = commands.add_parser("rm", help="delete jobs with their upload and outputs")
    rm.add_argument("jobs", nargs="+", metavar="JOB")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "login":
        return login(args)
    try:
        client = Client(load())
    except ConfigError as exc:
        print(f"mixscribe: {exc}", file=sys.stderr)
        return 2
    try:
        return {"transcribe": transcribe, "jobs": list_jobs, "get": get, "rm": remove}[args.command](client, args)
    except ApiError as exc:
        print(f"mixscribe: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        client.close()


def login(args: argparse.Namespace) -> int:
    url = (args.url or input("API address: ")).strip().rstrip("/")
    key = (args.key or getpass.getpass("API key (hidden): ")).strip()
    if not url.startswith(("https://", "http://")) or not key:
        print("mixscribe: give the API's http(s) address and a key", file=sys.stderr)
        return 2
    config = ClientConfig(url, key)
    client = Client(config)
    try:
        next(client.jobs(limit=1), None)  # the key works before it is stored
    except ApiError as exc:
        print(f"mixscribe: the API refused the key ({exc})", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"logged in to {url}; key stored in {save(config)}")
    return 0


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"notes": args.notes}
    for name in ("model", "language", "priority", "speakers", "prompt", "hotwords"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if args.diarize:
        options["diarize"] = True
    return options


def transcribe(client: Client, args: argparse.Namespace) -> int:
    formats = args.format or ["txt"]
    if not args.notes and any(f.startswith("notes.") for f in formats):
        print("mixscribe: notes formats need notes (leave out --no-notes)", file=sys.stderr)
        return 2
    failed = 0
    for path in args.files:
        try:
            job_id = _upload(client, path, _options(args), args.quiet)
        except (ApiError, OSError) as exc:
            print(f"{path}: not uploaded: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{path}: job {job_id}")
        try:
            if args.wait and not _follow_and_save(client, path, job_id, formats, args.quiet):
                failed += 1
        except (ApiError, OSError) as exc:  # this file's job could not be followed or saved; the others go on
            print(f"{path}: job {job_id}: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _upload(client: Client, path: Path, options: dict[str, Any], quiet: bool) -> str:
    if not path.is_file():
        raise OSError(f"no such file: {path}")
    content_type = CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    signed = client.create_upload(path, content_type, options)
    size = path.stat().st_size
    with tqdm(total=size, unit="B", unit_scale=True, desc=f"upload {path.name}", disable=quiet, leave=False) as bar:
        client.upload(signed, path, bar.update)
    return str(signed["job_id"])


def _follow_and_save(client: Client, path: Path, job_id: str, formats: list[str], quiet: bool) -> bool:
    """Follow the job to its end with a progress bar; write its outputs beside ``path``. True when done."""
    job: dict[str, Any] = {}
    with tqdm(total=100.0, desc=f"{path.name}: queued", disable=quiet, leave=False, bar_format="{desc} {bar} {n:.0f} %") as bar:
        for event, data in client.events(job_id):
            if event in ("status", "end"):
                job = data
                bar.set_description_str(f"{path.name}: {data['status']}")
                if data.get("progress"):
                    bar.n = float(data["progress"]["percent"] or 0)
            elif event == "progress":
                bar.n = float(data["percent"] or 0)
                if data.get("eta_s") is not None and data["percent"] < 100:
                    bar.set_description_str(f"{path.name}: transcribing, about {data['eta_s']:.0f} s left")
            bar.refresh()
    if job.get("status") != "done":
        error = job.get("error") or {}
        print(f"{path}: job {job_id} {job.get('status', 'ended')}: {error.get('code')}: {error.get('message')}", file=sys.stderr)
        return False
    for fmt in formats:
        target = path.with_name(f"{path.stem}.{fmt}")
        if target.resolve() == path.resolve():  # never overwrite the recording itself
            target = path.with_name(f"{path.stem}.transcript.{fmt}")
        target.write_bytes(client.output(job_id, fmt))
        print(f"{path}: wrote {target}")
    return True


def list_jobs(client: Client, args: argparse.Namespace) -> int:
    rows = [
        (
            job["id"],
            job["status"],
            f"{job['duration_s']:.1f} s" if job.get("duration_s") else "-",
            job["created_at"][:19].replace("T", " "),
            job["source"]["name"],
        )
        for job in client.jobs(args.status, args.limit)
    ]
    if not rows:
        print("no jobs")
        return 0
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
    return 0


def get(client: Client, args: argparse.Namespace) -> int:
    body = client.output(args.job, args.format)
    if args.output:
        args.output.write_bytes(body)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    return 0


def remove(client: Client, args: argparse.Namespace) -> int:
    failed = 0
    for job_id in args.jobs:
        try:
            client.delete(job_id)
            print(f"deleted {job_id}")
        except ApiError as exc:
            print(f"{job_id}: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0
