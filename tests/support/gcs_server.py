"""A standalone fake-gcs-server for edge-agent fault tests: stop it and start it again on the same
port with the same files, as an outage looks to a client."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import requests

from local_emulators.processes import free_ports
from local_emulators.stack import fake_gcs_binary


class GcsServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        (self.port,) = free_ports(1)
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                fake_gcs_binary(),
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-port",
                str(self.port),
                "-backend",
                "filesystem",
                "-filesystem-root",
                str(self.root),
                "-log-level",
                "warn",
                "-external-url",
                self.url,
                "-public-host",
                f"127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/storage/v1/b", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("fake-gcs-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, 9)
            self.process.wait(10)
            self.process = None

    def client(self):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        # an explicit endpoint, not STORAGE_EMULATOR_HOST: this process's other clients keep theirs
        return storage.Client(project="edge-test", credentials=AnonymousCredentials(), client_options={"api_endpoint": self.url})
