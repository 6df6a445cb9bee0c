"""Starting executions of the transcription job: Cloud Run Jobs in the cloud, the local stand-in here.

Both speak the same request: run job ``name`` with ``task_count`` tasks. ``launcher_for`` picks one
from settings; the dispatcher calls it after publishing work (see ``intake.dispatch``).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Protocol

from .config import Settings
from .logs import fields

log = logging.getLogger(__name__)


class JobLauncher(Protocol):
    def run(self, task_count: int) -> str:
        """Start one execution with ``task_count`` tasks; returns the execution's name."""


class CloudRunLauncher:
    """``google.cloud.run_v2.JobsClient.run_job`` with a task-count override."""

    def __init__(self, settings: Settings) -> None:
        from google.cloud import run_v2

        self._run_v2 = run_v2
        self._client = run_v2.JobsClient()
        self._name = f"projects/{settings.project}/locations/{settings.region}/jobs/{settings.transcribe_job}"

    def run(self, task_count: int) -> str:
        request = self._run_v2.RunJobRequest(
            name=self._name, overrides=self._run_v2.RunJobRequest.Overrides(task_count=task_count)
        )
        operation = self._client.run_job(request=request)
        execution = operation.metadata.name if operation.metadata else ""
        log.info("started Cloud Run job execution", extra=fields(job=self._name, execution=execution))
        return execution


class LocalRunLauncher:
    """POSTs to the local Cloud Run Jobs stand-in (``local_emulators.run_jobs``) on the same path."""

    def __init__(self, settings: Settings) -> None:
        self._url = (
            f"{settings.local_run_api.rstrip('/')}/v2/projects/{settings.project}/locations/"
            f"{settings.region}/jobs/{settings.transcribe_job}:run"
        )

    def run(self, task_count: int) -> str:
        body = json.dumps({"overrides": {"taskCount": task_count}}).encode()
        req = urllib.request.Request(self._url, body, {"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            execution = json.load(resp)["metadata"]["name"]
        log.info("started local job execution", extra=fields(execution=execution))
        return execution


class NoLauncher:
    """Workers are started some other way (tests that run the worker themselves)."""

    def run(self, task_count: int) -> str:
        return ""


def launcher_for(settings: Settings) -> JobLauncher:
    if settings.launcher == "cloudrun":
        return CloudRunLauncher(settings)
    if settings.launcher == "local":
        return LocalRunLauncher(settings)
    return NoLauncher()
