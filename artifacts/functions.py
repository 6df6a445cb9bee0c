"""Cloud Function source archives: declared per function, built the same way for infra and the local stack.

An archive holds, at its root, the function's folder (``functions/<directory>``: its Python files
and ``requirements.txt``), the shared package ``mixscribe/`` (its Python files and ``SHARED_DATA_FILES``) beside them, the
data files the function declares (nothing is guessed by suffix), and ``constraints.txt``, the lock
the tests ran: the archive's ``requirements.txt`` ends with ``-c constraints.txt``, so pip — in
Cloud Build or in a local virtualenv — installs exactly the versions the tests ran.

Entries are sorted and their timestamps fixed, so the same code gives the same bytes, hence the same
object name, and an unchanged function does not redeploy.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

FIXED_TIME = (2020, 1, 1, 0, 0, 0)
SHARED_PACKAGE = "mixscribe"
CONSTRAINTS = "constraints.txt"
CONSTRAINT_LINE = f"-c {CONSTRAINTS}"
EXCLUDE_PARTS = {"__pycache__", ".local", ".venv", ".git", "tests"}
# the shared package's data files every function reads (Settings checks the model registry it names)
SHARED_DATA_FILES = ("mixscribe/registries/local.toml", "mixscribe/registries/cloud.toml")
SECRET_PATTERNS = (".pem", ".key", ".p12", ".env", "credentials", "service-account")


class ArchiveError(FileNotFoundError):
    """A declared file is missing, or a file that must not ship would."""


@dataclass(frozen=True)
class FunctionSource:
    """One function's source: where it lives, how it starts, which data files it needs."""

    directory: str  # functions/<directory>
    entry_point: str  # the decorated function functions-framework serves (FUNCTION_TARGET)
    signature_type: str  # "cloudevent" or "http" (FUNCTION_SIGNATURE_TYPE)
    data_files: tuple[str, ...] = field(default=())  # repository paths of non-Python files it reads

    @property
    def folder(self) -> str:
        return f"functions/{self.directory}"

    def archive_path(self, repo_path: str) -> str:
        """Where a repository file lands in the archive: the function's folder at the root."""
        prefix = self.folder + "/"
        return repo_path[len(prefix) :] if repo_path.startswith(prefix) else repo_path


SOURCES: dict[str, FunctionSource] = {
    source.directory: source
    for source in (
        FunctionSource("on_upload", "on_upload", "cloudevent"),
        FunctionSource("notes", "on_notes_request", "cloudevent"),
        FunctionSource("webhooks", "on_job_event", "cloudevent"),
        FunctionSource("dead_letters", "on_dead_letter", "cloudevent"),
        FunctionSource(
            "api",
            "api",
            "http",
            data_files=(
                "functions/api/assets/index.html",
                "functions/api/assets/app.js",
                "functions/api/assets/app.css",
                "mixscribe/webapi/openapi.yaml",
            ),
        ),
    )
}


@dataclass(frozen=True)
class SourceArchive:
    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def object_name(self) -> str:
        return f"functions/{self.name}-{self.sha256[:16]}.zip"

    def names(self) -> list[str]:
        return zipfile.ZipFile(io.BytesIO(self.data)).namelist()

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / Path(self.object_name).name
        if not path.exists():
            path.write_bytes(self.data)
        return path

    def extract(self, directory: Path) -> Path:
        """Unpack into ``directory/<name>-<hash>/`` (once per content); the folder functions-framework runs in."""
        target = directory / Path(self.object_name).stem
        marker = target / ".extracted"
        if not marker.exists():
            target.mkdir(parents=True, exist_ok=True)
            zipfile.ZipFile(io.BytesIO(self.data)).extractall(target)
            marker.touch()
        return target


def _python_files(root: Path, base: Path) -> list[Path]:
    return [
        path
        for path in sorted(root.rglob("*.py"))
        if path.is_file() and not EXCLUDE_PARTS.intersection(path.relative_to(base).parts)
    ]


def _refuse_secrets(name: str) -> None:
    lowered = name.lower()
    if any(pattern in lowered for pattern in SECRET_PATTERNS):
        raise ArchiveError(f"{name} looks like a secret and must not enter a function archive")


def archive_entries(repo: Path, source: FunctionSource) -> dict[str, bytes]:
    """Archive path → bytes for one function: exactly what it deploys with."""
    folder = repo / source.folder
    requirements = folder / "requirements.txt"
    if not (folder / "main.py").is_file() or not requirements.is_file():
        raise ArchiveError(f"{source.folder} needs main.py and requirements.txt")
    entries: dict[str, bytes] = {}
    for path in _python_files(folder, folder) + _python_files(repo / SHARED_PACKAGE, repo):
        rel = path.relative_to(repo).as_posix()
        entries[source.archive_path(rel)] = path.read_bytes()
    for rel in (*SHARED_DATA_FILES, *source.data_files):
        path = repo / rel
        if not path.is_file():
            raise ArchiveError(f"{rel}, a data file the {source.directory} function declares, is missing")
        _refuse_secrets(rel)
        entries[source.archive_path(rel)] = path.read_bytes()
    lines = requirements.read_text().rstrip("\n").splitlines()
    entries["requirements.txt"] = ("\n".join([*lines, CONSTRAINT_LINE]) + "\n").encode()
    entries[CONSTRAINTS] = (repo / CONSTRAINTS).read_bytes()
    return entries


def build_archive(repo: Path, directory: str) -> SourceArchive:
    """The deterministic zip of ``functions/<directory>`` as declared in ``SOURCES``."""
    entries = archive_entries(repo, SOURCES[directory])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[name], zipfile.ZIP_DEFLATED)
    return SourceArchive(directory, buffer.getvalue())
