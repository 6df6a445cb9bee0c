"""The local BigQuery API: bqemulator 1.4.0 in a venv of ``local_emulators/bigquery/requirements.txt``.

bqemulator loads DuckDB's spatial extension at start and runs ``INSTALL spatial`` first, which downloads
it when DuckDB's extension directory lacks it (and fails offline). The extension comes from the pinned
``duckdb-extension-spatial`` wheel instead: ``prepare()`` copies it into a DuckDB home of the venv's own
(``HOME`` of the emulator's process only), so ``INSTALL`` finds it there and nothing is downloaded.
"""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artifacts.venvs import ensure_venv

REQUIREMENTS_DIR = Path(__file__).resolve().parent / "bigquery"


@dataclass(frozen=True)
class BigQueryEmulator:
    venv: Path
    home: Path  # the emulator's HOME: DuckDB's extensions under .duckdb/extensions

    def argv(self, data_dir: Path, project: str, rest_port: int, grpc_port: int) -> list[str]:
        return [
            str(self.venv / "bin" / "bqemulator"),
            "start",
            "--persistent",
            "--data-dir",
            str(data_dir),
            "--project",
            project,
            "--rest-host",
            "127.0.0.1",
            "--rest-port",
            str(rest_port),
            "--grpc-host",
            "127.0.0.1",
            "--grpc-port",
            str(grpc_port),
            "--log-format",
            "json",
            "--log-level",
            "warning",
        ]

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {**base, "HOME": str(self.home)}

    @staticmethod
    def ready(rest_port: int, project: str) -> Callable[[], bool]:
        from .processes import http_ok

        return http_ok(f"http://127.0.0.1:{rest_port}/bigquery/v2/projects/{project}/datasets")


def prepare() -> BigQueryEmulator:
    """The emulator's venv (cached) with the spatial extension where DuckDB looks for it."""
    venv = ensure_venv(REQUIREMENTS_DIR, ["-r", "requirements.txt"])
    home = venv / "duckdb-home"
    packaged = sorted(
        (venv / "lib").glob("python*/site-packages/duckdb_extension_spatial/extensions/v*/spatial.duckdb_extension")
    )
    if not packaged:
        raise RuntimeError(f"duckdb-extension-spatial is missing from {venv}")
    source = packaged[-1]
    version = source.parent.name  # e.g. v1.5.5: DuckDB's own version, which the extension must match
    platform_dir = {"x86_64": "linux_amd64", "aarch64": "linux_arm64"}[platform.machine()]
    target = home / ".duckdb" / "extensions" / version / platform_dir / source.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target.with_suffix(".partial"))
        target.with_suffix(".partial").rename(target)
    return BigQueryEmulator(venv, home)


@contextmanager
def running(root: Path, project: str = "mixscribe-local") -> Iterator[dict[str, str]]:
    """A BigQuery emulator of its own on free loopback ports (tests, benchmarks), stopped on exit; the
    environment that points the clients at it (``mixscribe.config``'s two emulator settings)."""
    from .processes import ServiceProcess, free_ports

    emulator = prepare()
    rest, grpc_port = free_ports(2)
    service = ServiceProcess(
        "bigquery",
        emulator.argv(root / "data", project, rest, grpc_port),
        emulator.env(dict(os.environ)),
        root / "bigquery.log",
        emulator.ready(rest, project),
    )
    service.start()
    try:
        service.wait_ready(90)
        yield {
            "BIGQUERY_EMULATOR_HOST": f"http://127.0.0.1:{rest}",
            "BIGQUERY_STORAGE_EMULATOR_HOST": f"127.0.0.1:{grpc_port}",
        }
    finally:
        service.stop()


def warehouse_client(env: dict[str, str], project: str) -> Any:
    """A ``google-cloud-bigquery`` client of ``project`` on the emulator ``env`` names (``running``'s), the
    warehouse created in it as the Pulumi program creates it in BigQuery (``mixscribe.warehouse``)."""
    from mixscribe.config import Settings
    from mixscribe.gcp.bigquery import bigquery_client, provision

    client = bigquery_client(Settings.from_env({**env, "GOOGLE_CLOUD_PROJECT": project}))
    provision(client)
    return client
