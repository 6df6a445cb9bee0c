"""The edge agent installed exactly as README's install block says, into a cached virtualenv, and its spool.

The block's ``python3 -m venv /opt/mixscribe-edge`` and ``pip install … ./edge_agent`` lines are
taken from README and run in this clone with a folder under ``.local/edge/`` for
``/opt/mixscribe-edge`` (no ``sudo``); the folder is named by the hash of those lines, the agent's
and the shared package's sources and the lock, so only a change pays for a new install.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from tests.conftest import REPO

INSTALL_PREFIX = "/opt/mixscribe-edge"
CACHE = REPO / ".local" / "edge"


def readme_install_block() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text.split("<!-- edge-install:start -->", 1)[1].split("<!-- edge-install:end -->", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("```")]


def install_commands() -> list[str]:
    """The lines that make the agent's environment (the rest are system administration)."""
    return [line.removeprefix("sudo ") for line in readme_install_block() if INSTALL_PREFIX in line]


def _sources_digest(commands: list[str]) -> str:
    digest = hashlib.sha256("\n".join(commands).encode())
    for folder in ("edge_agent", "mixscribe"):
        for path in sorted((REPO / folder).rglob("*")):
            rel = path.relative_to(REPO)
            if path.is_file() and not {"__pycache__", "build"} & set(rel.parts) and ".egg-info" not in str(rel):
                digest.update(str(rel).encode() + b"\0" + path.read_bytes())
    digest.update((REPO / "constraints.txt").read_bytes())
    return digest.hexdigest()[:16]


def installed_agent() -> Path:
    """The virtualenv README's lines make (``bin/mixscribe-edge`` inside)."""
    commands = install_commands()
    assert len(commands) == 2 and "-m venv" in commands[0] and "pip install" in commands[1], commands
    venv = CACHE / _sources_digest(commands)
    if (venv / ".complete").exists():
        return venv
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
            for command in commands:
                proc = subprocess.run(
                    command.replace(INSTALL_PREFIX, str(venv)), shell=True, cwd=REPO, env=env, capture_output=True, text=True
                )
                assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            shutil.rmtree(REPO / "edge_agent" / "build", ignore_errors=True)  # setuptools' in-tree leftovers
            (venv / ".complete").touch()
    return venv


def spool_rows(spool: Path) -> list[dict]:
    """The agent's spool manifest, one dict per segment, in order."""
    with sqlite3.connect(spool / "manifest.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM segments ORDER BY session, seq")]
