"""Virtualenvs made from an artifact's own requirements alone, cached under ``.local/venvs/``.

The key is the hash of the Python version, pip's arguments and every requirements file pip reads
(and the files they name), so only the first run pays and a changed pin makes a new environment.
A lock file serialises stacks that start in parallel.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".local" / "venvs"
COMPLETE = ".complete"


def requirement_files(requirements: Path) -> list[Path]:
    """``requirements`` and every file its ``-r`` / ``-c`` lines name, recursively."""
    files = [requirements]
    for line in requirements.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("-r", "-c", "--requirement", "--constraint"):
            files += requirement_files(requirements.parent / parts[1])
    return files


def named_files(folder: Path, pip_args: list[str]) -> list[Path]:
    """Every file pip reads for ``pip install <pip_args>`` run in ``folder``."""
    files: list[Path] = []
    for flag, value in zip(pip_args, pip_args[1:]):
        if flag in ("-r", "-c"):
            files += requirement_files(folder / value)
    return files


def python_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import sys; print(sys.version)"], check=True, capture_output=True, text=True
    ).stdout.strip()


def venv_key(folder: Path, pip_args: list[str], python: str) -> str:
    digest = hashlib.sha256(python_version(python).encode() + b"\0" + " ".join(pip_args).encode())
    for path in named_files(folder, pip_args):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_venv(folder: Path, pip_args: list[str], python: str = sys.executable, cache: Path = CACHE) -> Path:
    """A virtualenv with what ``pip install <pip_args>`` run in ``folder`` installs (as Cloud Build or
    ``docker build`` would), cached by the hash of everything pip reads."""
    key = venv_key(folder, pip_args, python)
    venv = cache / key
    if (venv / COMPLETE).exists():
        return venv
    with _locked(cache / f"{key}.lock"):
        if (venv / COMPLETE).exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)  # a build cut off half-way
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
        proc = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--no-warn-script-location",
                *pip_args,
            ],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise RuntimeError(f"pip could not install {pip_args} in {folder}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
        (venv / COMPLETE).write_text(f"{folder}: pip install {' '.join(pip_args)}\n")
    return venv
