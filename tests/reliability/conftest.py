"""The fault and load suites (``make test-reliability``): one local stack tuned for fast recovery.

Short ack deadlines and leases make a killed task's request come back within seconds; two tasks
per execution; small size and duration limits so the oversize and too-long inputs stay small; the
services reach Pub/Sub and Firestore through proxies that can play a restart. The topology's
policies (ack deadlines, backoff, dead letters) are the cloud's.
Figures each suite measures go to ``report`` and are printed (and written to
``.local/reliability-report.json``) at the end of the run.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_emulators.stack import StackOptions
from tests.conftest import REPO, SAMPLE
from tests.integration.conftest import StackClient, running_stack

MAX_UPLOAD_BYTES = 6 * 1024 * 1024
MAX_DURATION_S = 1800
REPORT: dict[str, Any] = {}


@pytest.fixture(scope="session")
def report() -> dict[str, Any]:
    return REPORT


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not REPORT:
        return
    path = Path(os.environ.get("MIXSCRIBE_RELIABILITY_REPORT", REPO / ".local" / "reliability-report.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(REPORT, indent=2, default=str))
    terminalreporter.section("reliability figures")
    for name, figures in REPORT.items():
        terminalreporter.write_line(f"{name}: {json.dumps(figures, default=str)}")
    terminalreporter.write_line(f"(written to {path})")


@pytest.fixture(scope="session")
def rstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackClient]:
    root = tmp_path_factory.mktemp("reliability-stack")
    service_env = {
        "MIXSCRIBE_ACK_DEADLINE_S": "10",
        "MIXSCRIBE_LEASE_S": "12",
        "MIXSCRIBE_RESULT_CACHE": "false",  # the suites upload one clip many times: each must be transcribed
        "MIXSCRIBE_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "MIXSCRIBE_MAX_DURATION_S": str(MAX_DURATION_S),
    }
    options = StackOptions(
        transcribe_tasks=2, idle_timeout_s=20, dispatch_debounce_s=5, service_env=service_env, fault_proxies=True
    )
    with running_stack(root, options) as client:
        client.root = root  # type: ignore[attr-defined]  # the suites read the stack folder off the client they share
        yield client


@pytest.fixture(scope="session")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of the speech sample: enough to transcribe, quick enough for hundreds of jobs."""
    path = tmp_path_factory.mktemp("clips") / "short.flac"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(SAMPLE), "-t", "2.6", str(path)], check=True)
    return path
