"""A package installed exactly as README's install block says, into a cached virtualenv.

The block (between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``) holds the ``python3 -m venv PREFIX``
and ``pip install … ./folder`` lines; they are run in this clone with a folder under ``.local/<name>/`` for
``PREFIX`` (no ``sudo``). The folder is named by the hash of those lines, the package's sources and the
lock, so only a change pays for a new install.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO


def readme_install_block(marker: str) -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text.split(f"<!-- {marker}:start -->", 1)[1].split(f"<!-- {marker}:end -->", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("```")]


def install_commands(marker: str, prefix: str) -> list[str]:
    """The lines that make the package's environment (the rest are system administration)."""
    return [line.removeprefix("sudo ") for line in readme_install_block(marker) if prefix in line]


def _sources_digest(commands: list[str], folders: tuple[str, ...]) -> str:
    digest = hashlib.sha256("\n".join(commands).encode())
    for folder in folders:
        for path in sorted((REPO / folder).rglob("*")):
            rel = path.relative_to(REPO)
            if path.is_file() and not {"__pycache__", "build"} & set(rel.parts) and ".egg-info" not in str(rel):
                digest.update(str(rel).encode() + b"\0" + path.read_bytes())
    digest.update((REPO / "constraints.txt").read_bytes())
    return digest.hexdigest()[:16]


def installed_package(marker: str, prefix: str, folders: tuple[str, ...]) -> Path:
    """The virtualenv README's ``marker`` block makes for ``prefix``; ``folders``: the sources it installs."""
    commands = install_commands(marker, prefix)
    assert len(commands) == 2 and "-m venv" in commands[0] and "pip install" in commands[1], commands
    cache = REPO / ".local" / marker
    venv = cache / _sources_digest(commands, folders)
    if (venv / ".complete").exists():
        return venv
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
            for command in commands:
                proc = subprocess.run(
                    command.replace(prefix, str(venv)), shell=True, cwd=REPO, env=env, capture_output=True, text=True
                )
                assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            for folder in folders:
                shutil.rmtree(REPO / folder / "build", ignore_errors=True)  # setuptools' in-tree leftovers
            (venv / ".complete").touch()
    return venv
