"""Local stand-in for the Cloud Run Admin API (v2, REST) of jobs: run a job, list and get executions.

It answers the paths and JSON shapes of ``run.googleapis.com`` that ``google-cloud-run``'s REST
transport sends and parses, so the dispatcher's ``CloudRunLauncher`` is what the local stack uses:

- ``POST /v2/projects/P/locations/R/jobs/J:run`` (``RunJobRequest``, ``overrides.taskCount``) starts
  N task processes and answers a long-running ``Operation`` whose metadata is the ``Execution``;
- ``GET …/jobs/J/executions`` and ``GET …/jobs/J/executions/E``: ``Execution`` with its running,
  succeeded, failed counts and ``completionTime`` once every task has ended;
- ``GET …/operations/O``: the operation, ``done`` with the execution as response once it completed.

Each task gets ``CLOUD_RUN_JOB``, ``CLOUD_RUN_EXECUTION``, ``CLOUD_RUN_TASK_INDEX``,
``CLOUD_RUN_TASK_COUNT`` and ``CLOUD_RUN_TASK_ATTEMPT``; a task that exits non-zero is started again
with the next attempt number, up to the job's max retries, like Cloud Run. Unlike Cloud Run, where
each task has its own vCPUs, local tasks share this machine: each is told its share
(``MIXSCRIBE_CPU_THREADS`` = cores ÷ tasks), explicitly; and the tasks of a job that pulls only the
least urgent queue (``background_jobs``: the batch backlog) run at a lower scheduling priority
(``nice`` 10), so they yield these shared cores to a high-priority task as separate machines would.
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
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mixscribe.config import Settings
from mixscribe.logs import fields, setup_logging
from mixscribe.topology import WORK_QUEUES

from .deployables import deployable_env

log = logging.getLogger("run_jobs")
JOB_PATH = r"/v2/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/jobs/(?P<job>[a-z0-9-]+)"
RUN = re.compile(JOB_PATH + r":run$")
EXECUTIONS = re.compile(JOB_PATH + r"/executions$")
EXECUTION = re.compile(JOB_PATH + r"/executions/(?P<execution>[a-z0-9-]+)$")
OPERATION = re.compile(r"/v2/projects/[^/]+/locations/[^/]+/operations/(?P<operation>[a-z0-9-]+)$")
EXECUTION_TYPE = "type.googleapis.com/google.cloud.run.v2.Execution"
MAX_TASKS = 64
BACKGROUND_NICE = 10


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class JobDefinition:
    name: str
    argv: list[str]
    max_retries: int = 3
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    nice: int = 0  # added to the tasks' scheduling niceness: local tasks share the cores, Cloud Run's do not


def background_jobs(settings: Settings) -> set[str]:
    """The jobs that pull only the least urgent queue (none when one job pulls every queue)."""
    least_urgent = WORK_QUEUES[-1]  # the topology lists them most urgent first
    return {settings.job_for(least_urgent)} - {settings.job_for(q) for q in WORK_QUEUES if q is not least_urgent}


@dataclass
class Execution:
    name: str  # the short name (executions/<name>)
    job: str
    parent: str  # projects/P/locations/R
    task_count: int
    operation: str = field(default_factory=lambda: uuid.uuid4().hex)
    exit_codes: dict[int, list[int]] = field(default_factory=dict)
    running: set[int] = field(default_factory=set)
    created: str = field(default_factory=_now)
    completed: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def succeeded(self) -> int:
        return sum(1 for codes in self.exit_codes.values() if codes and codes[-1] == 0)

    def resource(self) -> dict[str, Any]:
        """The ``google.cloud.run.v2.Execution`` JSON."""
        finished = [codes for index, codes in self.exit_codes.items() if index not in self.running and codes]
        body: dict[str, Any] = {
            "name": f"{self.parent}/jobs/{self.job}/executions/{self.name}",
            "uid": self.operation,
            "job": self.job,
            "createTime": self.created,
            "startTime": self.created,
            "taskCount": self.task_count,
            "parallelism": self.task_count,
            "runningCount": len(self.running),
            "succeededCount": self.succeeded,
            "failedCount": sum(1 for codes in finished if codes[-1] != 0) if self.completed else 0,
            "retriedCount": sum(max(0, len(codes) - 1) for codes in self.exit_codes.values()),
            "reconciling": not self.completed,
        }
        if self.completed:
            body["completionTime"] = self.completed
        return body

    def operation_resource(self) -> dict[str, Any]:
        operation: dict[str, Any] = {
            "name": f"{self.parent}/operations/{self.operation}",
            "metadata": {"@type": EXECUTION_TYPE, **self.resource()},
            "done": bool(self.completed),
        }
        if self.completed:
            operation["response"] = {"@type": EXECUTION_TYPE, **self.resource()}
        return operation


class LocalJobsApi:
    """Runs executions of the defined jobs as local processes sharing this machine's cores."""

    def __init__(self, jobs: dict[str, JobDefinition], log_dir: Path, cores: int | None = None) -> None:
        self.jobs = jobs
        self.log_dir = log_dir
        self.cores = cores or os.cpu_count() or 1
        self.executions: dict[str, Execution] = {}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def run_job(self, job: str, task_count: int = 1, parent: str = "projects/local/locations/local") -> Execution:
        if job not in self.jobs:
            raise KeyError(job)
        if not 1 <= task_count <= MAX_TASKS:
            raise ValueError(f"taskCount must be 1..{MAX_TASKS}")
        with self._lock:
            name = f"{job}-{os.getpid()}-{next(self._counter):04d}"
            execution = Execution(name, job, parent, task_count)
            execution.running.update(range(task_count))
            self.executions[name] = execution
        threads = [threading.Thread(target=self._run_task, args=(execution, index), daemon=True) for index in range(task_count)]
        for thread in threads:
            thread.start()
        threading.Thread(target=self._finish, args=(execution, threads), daemon=True).start()
        log.info("execution started", extra=fields(execution=name, tasks=task_count))
        return execution

    def of_job(self, job: str) -> list[Execution]:
        """The job's executions, newest first (as the API lists them)."""
        with self._lock:
            return [e for e in reversed(list(self.executions.values())) if e.job == job]

    def _finish(self, execution: Execution, threads: list[threading.Thread]) -> None:
        for thread in threads:
            thread.join()
        execution.completed = _now()
        execution.done.set()
        log.info("execution finished", extra=fields(**execution.resource()))

    def _run_task(self, execution: Execution, index: int) -> None:
        definition = self.jobs[execution.job]
        codes = execution.exit_codes.setdefault(index, [])
        share = max(1, self.cores // execution.task_count)  # local tasks share one machine: say so explicitly
        for attempt in range(definition.max_retries + 1):
            env = {
                **deployable_env(dict(os.environ)),  # the task sees its image, not this development environment
                **definition.env,
                Settings.variable("cpu_threads"): str(share),
                "CLOUD_RUN_JOB": execution.job,
                "CLOUD_RUN_EXECUTION": execution.name,
                "CLOUD_RUN_TASK_INDEX": str(index),
                "CLOUD_RUN_TASK_COUNT": str(execution.task_count),
                "CLOUD_RUN_TASK_ATTEMPT": str(attempt),
            }
            log_path = self.log_dir / f"{execution.name}-task{index}.log"
            with open(log_path, "ab") as out:
                argv = (["nice", "-n", str(definition.nice)] if definition.nice else []) + definition.argv
                code = subprocess.call(argv, env=env, cwd=definition.cwd, stdout=out, stderr=subprocess.STDOUT)
            codes.append(code)
            if code == 0:
                break
            log.warning("task failed", extra=fields(execution=execution.name, task=index, attempt=attempt, code=code))
        execution.running.discard(index)


def _status(code: int) -> str:
    return {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}.get(code, "UNKNOWN")


def make_handler(api: LocalJobsApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: object) -> None:
            log.debug(fmt % args)

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str) -> None:
            self._send(status, {"error": {"code": status, "message": message, "status": _status(status)}})

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(200, {"status": "ok"})
            elif match := EXECUTIONS.match(path):
                self._send(200, {"executions": [e.resource() for e in api.of_job(match["job"])]})
            elif (match := EXECUTION.match(path)) and match["execution"] in api.executions:
                self._send(200, api.executions[match["execution"]].resource())
            elif match := OPERATION.match(path):
                found = [e for e in api.executions.values() if e.operation == match["operation"]]
                self._send(200, found[0].operation_resource()) if found else self._error(404, "operation not found")
            else:
                self._error(404, "not found")

        def do_POST(self) -> None:
            match = RUN.match(self.path.split("?", 1)[0])
            if not match:
                self._error(404, "not found")
                return
            try:
                length = min(int(self.headers.get("Content-Length") or 0), 65536)
                body = json.loads(self.rfile.read(length) or b"{}")
                task_count = int(((body.get("overrides") or {}).get("taskCount")) or 1)
                parent = f"projects/{match['project']}/locations/{match['location']}"
                execution = api.run_job(match["job"], task_count, parent)
            except KeyError:
                self._error(404, f"job {match['job']} not found")
                return
            except (ValueError, TypeError, AttributeError) as exc:
                self._error(400, str(exc))
                return
            self._send(200, execution.operation_resource())

    return Handler


def main(argv: list[str] | None = None) -> None:
    import sys

    parser = argparse.ArgumentParser(description="Local Cloud Run Admin API (jobs)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-dir", type=Path, required=True)
    parser.add_argument("--max-retries", type=int, default=3)
    parser.add_argument("--job", action="append", default=[], help="a job's name (repeatable: the jobs share the image)")
    parser.add_argument(
        "--background-job", action="append", default=[], help=f"a job whose tasks run at nice {BACKGROUND_NICE} (repeatable)"
    )
    parser.add_argument("--python", default=sys.executable, help="the interpreter tasks run with (the image's venv)")
    parser.add_argument("--workdir", default=None, help="the folder tasks start in (the image's files)")
    parser.add_argument("--command", default="-m jobs.transcribe", help="arguments after the interpreter (the image's CMD)")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE of the image's ENV (repeatable)")
    args = parser.parse_args(argv)
    setup_logging("run_jobs")
    args.log_dir.mkdir(parents=True, exist_ok=True)
    image_env = dict(item.split("=", 1) for item in args.env)
    command = [args.python, *args.command.split()]
    jobs = {
        job: JobDefinition(
            job, command, args.max_retries, image_env, cwd=args.workdir, nice=BACKGROUND_NICE if job in args.background_job else 0
        )
        for job in args.job or ["transcribe"]
    }
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(LocalJobsApi(jobs, args.log_dir)))
    log.info("local Cloud Run Admin API listening", extra=fields(port=args.port, jobs=sorted(jobs)))
    server.serve_forever()


if __name__ == "__main__":
    main()
