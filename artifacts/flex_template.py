"""The analytics pipeline's Flex Template image, declared once: what its Dockerfile copies, where, and
the package Dataflow workers install (``beam_pipelines/setup.py``).

``assemble_template(repo, dest)`` lays out the image's ``/template`` folder; the local stack runs the
streaming pipeline from that folder (nothing else of the repository importable), and a test builds the
workers' package from it with Beam's own stager, as a launch does, and runs the pipeline from that.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .image import ignored


@dataclass(frozen=True)
class FlexTemplateImage:
    dockerfile: str
    ignore_file: str  # the build context's ignore rules (BuildKit: <Dockerfile>.dockerignore)
    workdir: str
    copies: tuple[str, ...]  # repository folders copied to ``workdir/<folder>``
    files: dict[str, str]  # repository file → path inside ``workdir``
    requirements: str  # installed in the launcher image (repository path)
    worker_requirements: str  # the setup file's install_requires
    py_file: str  # FLEX_TEMPLATE_PYTHON_PY_FILE, inside ``workdir``
    setup_file: str  # FLEX_TEMPLATE_PYTHON_SETUP_FILE, inside ``workdir``


FLEX_TEMPLATE = FlexTemplateImage(
    dockerfile="beam_pipelines/analytics/flex_template/Dockerfile",
    ignore_file="beam_pipelines/analytics/flex_template/Dockerfile.dockerignore",
    workdir="/template",
    copies=("beam_pipelines", "mixscribe"),
    files={"constraints.txt": "constraints.txt", "beam_pipelines/setup.py": "setup.py"},
    requirements="beam_pipelines/requirements.txt",
    worker_requirements="beam_pipelines/requirements-workers.txt",
    py_file="beam_pipelines/analytics/flex_template/launch.py",
    setup_file="setup.py",
)


def ignore_patterns(repo: Path, image: FlexTemplateImage = FLEX_TEMPLATE) -> list[str]:
    lines = (repo / image.ignore_file).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def template_files(repo: Path, image: FlexTemplateImage = FLEX_TEMPLATE) -> dict[str, Path]:
    """Path inside ``workdir`` → repository file, for everything the Dockerfile copies."""
    patterns = ignore_patterns(repo, image)
    files: dict[str, Path] = {}
    for folder in image.copies:
        for path in sorted((repo / folder).rglob("*")):
            rel = path.relative_to(repo).as_posix()
            if path.is_file() and not ignored(rel, patterns):
                files[rel] = path
    for source, target in image.files.items():
        files[target] = repo / source
    return files


def assemble_template(repo: Path, dest: Path, image: FlexTemplateImage = FLEX_TEMPLATE) -> Path:
    """``dest`` holds exactly the image's ``workdir`` (made afresh)."""
    shutil.rmtree(dest, ignore_errors=True)
    for rel, source in template_files(repo, image).items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return dest


def launch(template: Path, parameters: list[str], base_env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """How the image's launcher runs the pipeline (``FLEX_TEMPLATE_PYTHON_PY_FILE`` with the template's
    ``--name=value`` parameters), from the assembled folder ``template``: argv and an environment in which
    nothing of the repository is importable but the template's files (run it with ``cwd=template``)."""
    import sys

    return [sys.executable, str(template / FLEX_TEMPLATE.py_file), *parameters], {**base_env, "PYTHONPATH": str(template)}


def worker_package(template: Path, dest: Path, image: FlexTemplateImage = FLEX_TEMPLATE) -> Path:
    """The sdist a launch stages for the workers, built by Beam's stager from the template's setup file."""
    from apache_beam.runners.portability.stager import Stager

    dest.mkdir(parents=True, exist_ok=True)
    return Path(Stager._build_setup_package(str(template / image.setup_file), str(dest)))
