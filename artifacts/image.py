"""What the transcription job's images hold, declared once; both Dockerfiles must agree (a test parses them).

``JOB_IMAGE`` says it: the base image (one Python for both variants, the one the tests run), the
files copied into ``/app``, the requirements pip installs with the lock, the user, the command and
the environment of each variant. The GPU variant adds the CUDA 12 cuBLAS and cuDNN 9 wheels
CTranslate2 loads (``requirements-gpu.txt``) and points the loader at them.

The local stack runs the job's tasks from ``assemble``'s folder: exactly the files the Dockerfiles
copy (``.dockerignore`` applied), in a virtualenv of the job's own requirements made with the
image's Python version.
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .venvs import ensure_venv

PYTHON = "3.11.7"  # the base image's Python, the one the tests run
SITE = f"/usr/local/lib/python{PYTHON.rsplit('.', 1)[0]}/site-packages"  # where python:3.x images install packages


@dataclass(frozen=True)
class ImageVariant:
    name: str
    dockerfile: str  # repository path
    requirements: tuple[str, ...]  # repository paths, installed together with the lock
    env: dict[str, str] = field(default_factory=dict)  # ENV after the files (settings of mixscribe.config and loader paths)


@dataclass(frozen=True)
class ModelStage:
    """The build stage that bakes the registry's models (``scripts/bake_models.py``) into ``dest``."""

    name: str = "models"
    requirements: str = "jobs/transcribe/requirements-models.txt"
    script: str = "scripts/bake_models.py"
    dest: str = "/models"
    registry_arg: str = "MIXSCRIBE_MODEL_REGISTRY"  # the build argument: a registry of mixscribe/registries
    default_registry: str = "cloud"


@dataclass(frozen=True)
class JobImage:
    base: str  # FROM, for every variant
    python: str  # the base image's Python version (the tests run the same)
    workdir: str
    copies: tuple[str, ...]  # repository folders copied to ``workdir/<folder>``
    constraints: str
    user: int
    cmd: tuple[str, ...]
    variants: tuple[ImageVariant, ...]
    models: ModelStage = ModelStage()

    def variant(self, name: str) -> ImageVariant:
        return next(v for v in self.variants if v.name == name)

    def compile_args(self) -> tuple[str, ...]:
        """``python`` arguments that write the copied folders' bytecode at build time: the image runs with
        PYTHONDONTWRITEBYTECODE as a non-root user, so without it every task compiles every module it imports
        (about 0.3 s of each cold start)."""
        return ("-m", "compileall", "-q", *self.copies)


MODEL_ENV = {"MIXSCRIBE_MODEL_ROOT": ModelStage.dest, "MIXSCRIBE_MODEL_REGISTRY": f"${ModelStage.registry_arg}"}

JOB_IMAGE = JobImage(
    base=f"python:{PYTHON}-slim-bookworm",
    python=PYTHON,
    workdir="/app",
    copies=("mixscribe", "jobs"),
    constraints="constraints.txt",
    user=10001,
    cmd=("python", "-m", "jobs.transcribe"),
    variants=(
        ImageVariant(
            "gpu",
            "jobs/transcribe/Dockerfile",
            ("jobs/transcribe/requirements.txt", "jobs/transcribe/requirements-gpu.txt"),
            {
                **MODEL_ENV,
                "MIXSCRIBE_DEVICE": "auto",
                "MIXSCRIBE_COMPUTE_TYPE": "auto",
                "LD_LIBRARY_PATH": f"{SITE}/nvidia/cublas/lib:{SITE}/nvidia/cudnn/lib",
            },
        ),
        ImageVariant(
            "cpu",
            "jobs/transcribe/Dockerfile.cpu",
            ("jobs/transcribe/requirements.txt",),
            {**MODEL_ENV, "MIXSCRIBE_DEVICE": "cpu", "MIXSCRIBE_COMPUTE_TYPE": "int8"},
        ),
    ),
)


def dockerignore(repo: Path) -> list[str]:
    lines = (repo / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _match(pattern: list[str], path: list[str]) -> bool:
    """Segment by segment, as Go's ``filepath.Match`` (``*`` stays within a segment) plus ``**``."""
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatch.fnmatchcase(path[0], head) and _match(rest, path[1:])


def ignored(rel: str, patterns: list[str]) -> bool:
    """Docker's rule for a path relative to the context: a pattern (anchored at the context's root)
    matches the path or one of its parent folders; a later ``!`` pattern re-includes."""
    parts = rel.split("/")
    verdict = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        segments = pattern.removeprefix("!").strip("/").split("/")
        if any(_match(segments, parts[: i + 1]) for i in range(len(parts))):
            verdict = not negate
    return verdict


def image_files(repo: Path, image: JobImage = JOB_IMAGE, variant: str = "cpu") -> dict[str, Path]:
    """Path inside ``workdir`` → repository file, for everything the variant's Dockerfile copies."""
    patterns = dockerignore(repo)
    files: dict[str, Path] = {}
    for rel in (image.constraints, *image.variant(variant).requirements):
        files[Path(rel).name] = repo / rel
    for folder in image.copies:
        for path in sorted((repo / folder).rglob("*")):
            rel = path.relative_to(repo).as_posix()
            if path.is_file() and not ignored(rel, patterns):
                files[rel] = path
    return files


def image_python(image: JobImage = JOB_IMAGE) -> str:
    """This machine's interpreter of the image's Python (``pythonX.Y``); refuses another minor version."""
    major_minor = ".".join(image.python.split(".")[:2])
    python = shutil.which(f"python{major_minor}")
    if python is None:
        raise RuntimeError(f"the job image runs Python {image.python}: install python{major_minor} to run it locally")
    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"], check=True, capture_output=True, text=True
    ).stdout.strip()
    if not version.startswith(major_minor + "."):
        raise RuntimeError(f"python{major_minor} is Python {version}, the job image runs {image.python}")
    return python


@dataclass(frozen=True)
class AssembledImage:
    app: Path  # the folder the image's WORKDIR holds
    venv: Path
    env: dict[str, str]
    cmd: tuple[str, ...]

    def argv(self) -> list[str]:
        """The image's CMD with its ``python`` resolved to the venv's."""
        return [str(self.venv / "bin" / "python") if self.cmd[0] == "python" else self.cmd[0], *self.cmd[1:]]


def assemble(
    repo: Path, dest: Path, variant: str = "cpu", image: JobImage = JOB_IMAGE, registry: str = "local", models: Path | None = None
) -> AssembledImage:
    """``dest/app`` with exactly the image's files, and a venv of its requirements (pip, as the Dockerfile runs it).

    The image's model folder is ``models`` (default ``repo/.models``, baked by ``make install`` with the
    same script and registry as an image built with ``--build-arg MIXSCRIBE_MODEL_REGISTRY=<registry>``)."""
    app = dest / "app"
    shutil.rmtree(app, ignore_errors=True)
    for rel, source in image_files(repo, image, variant).items():
        target = app / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    requirements = [Path(r).name for r in image.variant(variant).requirements]
    venv = ensure_venv(
        app, [arg for name in requirements for arg in ("-r", name)] + ["-c", image.constraints], python=image_python(image)
    )
    subprocess.run([str(venv / "bin" / "python"), *image.compile_args()], cwd=app, check=True)
    env = {
        **image.variant(variant).env,
        "MIXSCRIBE_MODEL_ROOT": str((models or repo / ".models").resolve()),
        "MIXSCRIBE_MODEL_REGISTRY": registry,
    }
    return AssembledImage(app, venv, env, image.cmd)
