"""Starting executions of the transcription jobs through the Cloud Run Admin API (v2), one code path.

``CloudRunLauncher`` uses ``google-cloud-run``'s REST clients: in the cloud against
run.googleapis.com; locally against the stand-in at ``MIXSCRIBE_RUN_API_ENDPOINT``
(``local_emulators/run_jobs.py``, plain HTTP, no credentials), which answers the same requests.
Besides starting an execution with a task-count override it counts the tasks of the job's
executions that have not finished, which dispatch sizing (``mixscribe.dispatch``) subtracts.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from ..config import Settings
from ..logs import fields

log = logging.getLogger(__name__)
LIST_PAGES = 2  # live executions are recent: the newest 200 are enough


class CloudRunLauncher:
    """Run Cloud Run job ``job`` with N tasks; count the tasks still pending or running."""

    def __init__(self, settings: Settings, job: str) -> None:
        from google.cloud import run_v2

        options: dict[str, Any] = {"transport": "rest"}
        if settings.run_api_endpoint:
            from google.api_core.client_options import ClientOptions
            from google.auth.credentials import AnonymousCredentials

            options.update(
                client_options=ClientOptions(api_endpoint=settings.run_api_endpoint), credentials=AnonymousCredentials()
            )
        self._run_v2 = run_v2
        self._jobs = run_v2.JobsClient(**options)
        self._executions = run_v2.ExecutionsClient(**options)
        self.name = f"projects/{settings.project}/locations/{settings.region}/jobs/{job}"

    def run(self, task_count: int) -> str:
        request = self._run_v2.RunJobRequest(
            name=self.name, overrides=self._run_v2.RunJobRequest.Overrides(task_count=task_count)
        )
        operation = self._jobs.run_job(request=request)
        execution = operation.metadata.name if operation.metadata else ""
        log.info("started Cloud Run job execution", extra=fields(job=self.name, execution=execution, tasks=task_count))
        return execution

    def live_tasks(self) -> int:
        """Tasks of unfinished executions that have not ended (pending or running)."""
        pages = self._executions.list_executions(request={"parent": self.name, "page_size": 100}).pages
        live = 0
        for page in itertools.islice(pages, LIST_PAGES):
            for execution in page.executions:
                if "completion_time" in execution:
                    continue
                ended = execution.succeeded_count + execution.failed_count + execution.cancelled_count
                live += max(0, execution.task_count - ended)
        return live


def launcher_for(settings: Settings) -> Callable[[str], CloudRunLauncher | None]:
    """A launcher per job name as the settings say; ``None``: workers are started some other way (tests that run them)."""
    launchers: dict[str, CloudRunLauncher] = {}

    def launcher(job: str) -> CloudRunLauncher | None:
        if settings.launcher != "cloudrun":
            return None
        if job not in launchers:
            launchers[job] = CloudRunLauncher(settings, job)
        return launchers[job]

    return launcher
