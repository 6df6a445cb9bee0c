"""What the local stack runs of the system itself: each deployable from the artifact that ships.

Functions run from the very zip infra uploads (``artifacts.functions.build_archive``), unpacked
under ``.local/functions/`` and served by functions-framework from a virtualenv made of that
archive's ``requirements.txt`` alone (``artifacts.venvs``), started as Cloud Functions gen2 starts
it (``FUNCTION_TARGET``, ``FUNCTION_SIGNATURE_TYPE``, ``PORT``, ``K_SERVICE``). The transcription
job's tasks run from the folder ``artifacts.image.assemble`` makes of the CPU image's files, in a
venv of its requirements on the image's Python. Nothing from the repository is importable there:
a file an artifact lacks is missing locally too.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from artifacts.functions import SOURCES, FunctionSource, build_archive
from artifacts.venvs import ensure_venv

REPO = Path(__file__).resolve().parent.parent
UNPACKED = REPO / ".local" / "functions"
# the development environment must not leak into a deployable's process
DEV_VARIABLES = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP")


@dataclass(frozen=True)
class DeployedFunction:
    source: FunctionSource
    folder: Path  # the unpacked archive
    venv: Path  # made from its requirements.txt

    def argv(self) -> list[str]:
        return [str(self.venv / "bin" / "functions-framework"), "--host", "127.0.0.1"]

    def env(self, base: dict[str, str], port: int) -> dict[str, str]:
        """The gen2 runtime's variables on top of the service environment, without the dev venv."""
        return {
            **deployable_env(base),
            "FUNCTION_TARGET": self.source.entry_point,
            "FUNCTION_SIGNATURE_TYPE": self.source.signature_type,
            "PORT": str(port),
            "K_SERVICE": self.source.directory,
        }


def deployable_env(base: dict[str, str]) -> dict[str, str]:
    """``base`` without the development environment's Python variables or its venv on ``PATH``."""
    dev_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in base.items() if k not in DEV_VARIABLES}
    env["PATH"] = os.pathsep.join(p for p in base.get("PATH", os.defpath).split(os.pathsep) if p != dev_bin)
    return env


def deploy_function(directory: str) -> DeployedFunction:
    archive = build_archive(REPO, directory)
    folder = archive.extract(UNPACKED).resolve()
    return DeployedFunction(SOURCES[directory], folder, ensure_venv(folder, ["-r", "requirements.txt"]))


def deploy_functions(directories: list[str]) -> dict[str, DeployedFunction]:
    """Every function's archive unpacked and its venv ready (built in parallel the first time)."""
    with ThreadPoolExecutor(3) as pool:
        return dict(zip(directories, pool.map(deploy_function, directories)))
