"""``python -m local_emulators up`` / ``down`` as a user runs them: env file, real upload, no leftovers."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from local_emulators.stack import read_env
from tests.conftest import REPO

CONTRACT_KEYS = {
    "GOOGLE_CLOUD_PROJECT",
    "STORAGE_EMULATOR_HOST",
    "PUBSUB_EMULATOR_HOST",
    "FIRESTORE_EMULATOR_HOST",
    "MIXSCRIBE_UPLOAD_BUCKET",
    "MIXSCRIBE_RESULTS_BUCKET",
    "MIXSCRIBE_API_URL",
    "BIGQUERY_EMULATOR_HOST",
    "BIGQUERY_STORAGE_EMULATOR_HOST",
    "MIXSCRIBE_BIGQUERY_DATASET",
}


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
    return subprocess.run(
        [sys.executable, "-m", "local_emulators", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )


def _processes_mentioning(text: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if text in line and "ps -eo" not in line]


def test_up_writes_env_and_down_leaves_nothing(tmp_path):
    root = tmp_path / "local"
    up = _cli("up", "--root", str(root))
    assert up.returncode == 0, up.stderr
    try:
        env = read_env(root)
        assert CONTRACT_KEYS <= set(env)
        assert _cli("up", "--root", str(root)).returncode == 1  # refuses a second stack on the same root
        status = _cli("status", "--root", str(root))
        assert '"groups"' in status.stdout
        code = (
            "from google.auth.credentials import AnonymousCredentials; from google.cloud import storage; "
            f"c = storage.Client(project='{env['GOOGLE_CLOUD_PROJECT']}', credentials=AnonymousCredentials()); "
            f"b = c.bucket('{env['MIXSCRIBE_UPLOAD_BUCKET']}').blob('users/cli/hello.flac'); "
            f"b.upload_from_filename('{REPO / 'samples' / 'meeting.flac'}', if_generation_match=0); print(b.generation)"
        )
        uploaded = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True)
        assert uploaded.returncode == 0 and int(uploaded.stdout) > 0, uploaded.stderr
        # the analyst's query command, through google-cloud-bigquery against the stack's BigQuery API
        query = subprocess.run(
            [sys.executable, "-m", "beam_pipelines.analytics", "query", "failure_reasons"],
            env={**os.environ, **env},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert query.returncode == 0 and query.stdout.startswith("| error_code | jobs | share |"), query.stderr[-2000:]
    finally:
        down = _cli("down", "--root", str(root))
    assert down.returncode == 0 and "pubsub" in down.stdout
    time.sleep(0.5)
    assert _processes_mentioning(str(root)) == []
    assert "nothing was running" in _cli("down", "--root", str(root)).stdout
