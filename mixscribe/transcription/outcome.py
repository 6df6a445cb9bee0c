"""What a worker does with a request, and which task it is (shared by the pipeline and its long-file path)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Outcome(str, Enum):
    DONE = "done"  # acknowledge: the request is finished (or was a duplicate)
    RETRY_LATER = "retry_later"  # another worker holds the job: see it again later


@dataclass(frozen=True)
class TaskIdentity:
    """Which Cloud Run task this is (``CLOUD_RUN_TASK_INDEX/COUNT/ATTEMPT``)."""

    index: int
    count: int
    attempt: int
    execution: str

    @property
    def worker(self) -> str:
        return f"{self.execution}/task-{self.index}/attempt-{self.attempt}"
