"""schemathesis, an outside fuzzer, against the local stack's API from the OpenAPI file the API serves:
every check (`--checks all`: no 5xx, documented statuses, content types and headers, response schemas,
valid data accepted, invalid data refused, auth enforced, Allow on 405…) on a bounded number of examples
per operation. The stack is its own, with rate limits raised for the run and a short wait on OpenAI's
routes; ``tests/support/schemathesis.toml`` says which operations may refuse data the schema allows (the
bytes of a file, a URL's reachability), and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from local_emulators.stack import StackOptions
from tests.integration.conftest import running_stack
from tests.integration.test_api import new_client, upload_via_api, wait_for

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "tests" / "support" / "schemathesis.toml"
EXAMPLES = 20  # per operation and phase: about a minute on 2 cores (1,000+ requests at 8)


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory):
    service_env = {
        "MIXSCRIBE_RATE_PER_MINUTE": "100000",
        "MIXSCRIBE_RATE_PER_HOUR": "1000000",
        "MIXSCRIBE_OPENAI_WAIT_S": "5",
        "MIXSCRIBE_EVENTS_MAX_S": "5",
    }
    options = StackOptions(idle_timeout_s=15, dispatch_debounce_s=5, service_env=service_env)
    with running_stack(tmp_path_factory.mktemp("fuzz"), options) as client:
        yield client


def test_schemathesis_finds_nothing_with_every_check(fuzz_stack, tmp_path: Path):
    api = new_client(fuzz_stack, "fuzz")  # an ID token (valid for an hour): API keys may not manage keys
    job_id = upload_via_api(api, REPO / "samples" / "meeting.flac", "audio/flac", {"notes": False})["job_id"]
    assert wait_for(api, job_id)["status"] == "done"  # a finished job of the caller's for the job routes
    report = tmp_path / "report"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        f"{api.base}/openapi.yaml",
        "--url",
        api.base,
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES),
        "--header",
        f"Authorization: Bearer {api.token()}",
        "--workers",
        "1",
        "--request-timeout",
        "60",  # an event stream may idle 15 s between comments
        "--seed",
        "20261204",
        "--report",
        "junit",
        "--report-dir",
        str(report),
    ]
    env = {**os.environ, "MIXSCRIBE_FUZZ_JOB_ID": job_id}
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path, env=env)
    output = run.stdout + run.stderr
    (report / "output.txt").parent.mkdir(parents=True, exist_ok=True)
    (report / "output.txt").write_text(output)
    assert run.returncode == 0, output[-6000:]
    assert " passed" in output and "failed" not in output.split("SUMMARY")[-1].lower(), output[-3000:]
