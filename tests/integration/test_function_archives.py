"""A function's archive served alone, as Cloud Functions gen2 runs it: its own venv, nothing from the repository."""

from __future__ import annotations

import subprocess
import time

import pytest
import requests

from local_emulators.deployables import deploy_function, deployable_env
from local_emulators.processes import free_ports, stop_group

pytestmark = pytest.mark.integration


def serve(directory: str, env: dict[str, str]):
    deployed = deploy_function(directory)
    (port,) = free_ports(1)
    proc = subprocess.Popen(
        deployed.argv(),
        cwd=deployed.folder,
        env=deployed.env(env, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/healthz", timeout=1)
            return proc, url, deployed
        except requests.ConnectionError:
            assert proc.poll() is None, proc.stdout and proc.stdout.read()
            time.sleep(0.2)
    raise AssertionError("the function did not start")


def test_the_api_archive_serves_its_page_spec_and_validated_routes():
    """Defect: unpacked and served in a venv of its requirements, GET / and /assets/app.js answered 404,
    /openapi.yaml 500, and body-validated POSTs 500 with FileNotFoundError."""
    env = deployable_env(
        {
            "PATH": "/usr/bin:/bin",
            "GOOGLE_CLOUD_PROJECT": "mixscribe-local",
            "FIRESTORE_EMULATOR_HOST": "127.0.0.1:9",
            "STORAGE_EMULATOR_HOST": "http://127.0.0.1:9",
            "MIXSCRIBE_AUTH_AUDIENCE": "archive-test",
        }
    )
    proc, url, deployed = serve("api", env)
    try:
        assert not (deployed.folder / "tests").exists() and not (deployed.folder / "functions").exists()
        page = requests.get(url + "/", timeout=10)
        assert page.status_code == 200 and "<script" in page.text
        script = requests.get(url + "/assets/app.js", timeout=10)
        assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
        spec = requests.get(url + "/openapi.yaml", timeout=10)
        assert spec.status_code == 200 and "openapi: 3.1" in spec.text
        # no token: refused by authentication, not a 500 from a missing schema file
        upload = requests.post(url + "/v1/uploads", json={"filename": "a.flac"}, timeout=10)
        assert upload.status_code == 401
        freeze = subprocess.run(
            [str(deployed.venv / "bin" / "python"), "-c", "import mixscribe, sys; print(mixscribe.__file__)"],
            cwd=deployed.folder,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert freeze.strip() == str(deployed.folder / "mixscribe" / "__init__.py")  # the archive's copy, not the repository's
    finally:
        stop_group(proc.pid)
