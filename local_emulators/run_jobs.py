"""Local stand-in for the Cloud Run Jobs API: ``run_job`` starts N task processes.

Each task gets ``CLOUD_RUN_JOB``, ``CLOUD_RUN_EXECUTION``, ``CLOUD_RUN_TASK_INDEX``,
``CLOUD_RUN_TASK_COUNT`` and ``CLOUD_RUN_TASK_ATTEMPT``; a task that exits non-zero is started
again with the next attempt number, up to ``max_retries`` times, like Cloud Run. Served over HTTP on
the same path as the real API (``POST /v2/projects/P/locations/R/jobs/J:run``) so the dispatcher
uses one client shape for both.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import re
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from mixscribe.logs import fields, setup_logging

log = logging.getLogger("run_jobs")
RUN_PATH = re.compile(r"^/v2/projects/([^/]+)/locations/([^/]+)/jobs/([a-z0-9-]+):run$")
MAX_TASKS = 64


@dataclass(frozen=True)
class JobDefinition:
    name: str
    argv: list[str]
    max_retries: int = 3
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Execution:
    name: str
    job: str
    task_count: int
    exit_codes: dict[int, list[int]] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def succeeded(self) -> int:
        return sum(1 for codes in self.exit_codes.values() if codes and codes[-1] == 0)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "job": self.job,
            "taskCount": self.task_count,
            "succeededCount": self.succeeded,
            "attempts": {str(k): v for k, v in self.exit_codes.items()},
            "completed": self.done.is_set(),
        }


class LocalJobsApi:
    """Runs executions of the defined jobs as local processes."""

    def __init__(self, jobs: dict[str, JobDefinition], log_dir: Path) -> None:
        self.jobs = jobs
        self.log_dir = log_dir
        self.executions: dict[str, Execution] = {}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def run_job(self, job: str, task_count: int = 1) -> Execution:
        if job not in self.jobs:
            raise KeyError(job)
        if not 1 <= task_count <= MAX_TASKS:
            raise ValueError(f"taskCount must be 1..{MAX_TASKS}")
        with self._lock:
            name = f"{job}-{os.getpid()}-{next(self._counter):04d}"
            execution = Execution(name, job, task_count)
            self.executions[name] = execution
        threads = [
            threading.Thread(target=self._run_task, args=(execution, index), daemon=True)
            for index in range(task_count)
        ]
        for thread in threads:
            thread.start()
        threading.Thread(target=self._finish, args=(execution, threads), daemon=True).start()
        log.info("execution started", extra=fields(execution=name, tasks=task_count))
        return execution

    def _finish(self, execution: Execution, threads: list[threading.Thread]) -> None:
        for thread in threads:
            thread.join()
        execution.done.set()
        log.info("execution finished", extra=fields(**execution.to_dict()))

    def _run_task(self, execution: Execution, index: int) -> None:
        definition = self.jobs[execution.job]
        codes = execution.exit_codes.setdefault(index, [])
        for attempt in range(definition.max_retries + 1):
            env = {
                **os.environ,
                **definition.env,
                "CLOUD_RUN_JOB": execution.job,
                "CLOUD_RUN_EXECUTION": execution.name,
                "CLOUD_RUN_TASK_INDEX": str(index),
                "CLOUD_RUN_TASK_COUNT": str(execution.task_count),
                "CLOUD_RUN_TASK_ATTEMPT": str(attempt),
            }
            log_path = self.log_dir / f"{execution.name}-task{index}.log"
            with open(log_path, "ab") as out:
                code = subprocess.call(definition.argv, env=env, stdout=out, stderr=subprocess.STDOUT)
            codes.append(code)
            if code == 0:
                return
            log.warning("task failed", extra=fields(execution=execution.name, task=index, attempt=attempt, code=code))


def make_handler(api: LocalJobsApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: object) -> None:
            log.debug(fmt % args)

        def _send(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            if self.path == "/healthz":
                self._send(200, {"status": "ok"})
                return
            name = self.path.rsplit("/", 1)[-1]
            if self.path.startswith("/v2/") and "/executions/" in self.path and name in api.executions:
                self._send(200, api.executions[name].to_dict())
                return
            self._send(404, {"error": {"code": 404, "message": "not found"}})

        def do_POST(self) -> None:  # noqa: N802
            match = RUN_PATH.match(self.path)
            if not match:
                self._send(404, {"error": {"code": 404, "message": "not found"}})
                return
            try:
                length = min(int(self.headers.get("Content-Length") or 0), 65536)
                body = json.loads(self.rfile.read(length) or b"{}")
                task_count = int(((body.get("overrides") or {}).get("taskCount")) or 1)
                execution = api.run_job(match.group(3), task_count)
            except KeyError:
                self._send(404, {"error": {"code": 404, "message": f"job {match.group(3)} not found"}})
                return
            except (ValueError, TypeError, AttributeError) as exc:
                self._send(400, {"error": {"code": 400, "message": str(exc)}})
                return
            self._send(200, {"name": f"operations/{execution.name}", "metadata": {"name": execution.name}})

    return Handler


def main(argv: list[str] | None = None) -> None:
    import sys

    parser = argparse.ArgumentParser(description="Local Cloud Run Jobs API")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-dir", type=Path, required=True)
    parser.add_argument("--max-retries", type=int, default=3)
    args = parser.parse_args(argv)
    setup_logging("run_jobs")
    args.log_dir.mkdir(parents=True, exist_ok=True)
    jobs = {
        "transcribe": JobDefinition("transcribe", [sys.executable, "-m", "jobs.transcribe"], args.max_retries),
    }
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(LocalJobsApi(jobs, args.log_dir)))
    log.info("local Cloud Run Jobs API listening", extra=fields(port=args.port))
    server.serve_forever()


if __name__ == "__main__":
    main()
