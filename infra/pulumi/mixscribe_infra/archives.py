"""Function source archives: the function's folder plus the shared package, named by content hash.

Entries are sorted and their timestamps fixed, so the same code gives the same bytes, hence the same
object name, and an unchanged function does not redeploy. Only source files are taken: nothing from
``.local/``, caches, virtual environments or anything that looks like a key.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

FIXED_TIME = (2020, 1, 1, 0, 0, 0)
INCLUDE_SUFFIXES = {".py", ".txt", ".json", ".md"}
EXCLUDE_PARTS = {"__pycache__", ".local", ".venv", ".git", "tests"}
SECRET_PATTERNS = (".pem", ".key", ".p12", ".env", "credentials", "service-account")


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

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / Path(self.object_name).name
        if not path.exists():
            path.write_bytes(self.data)
        return path


def _wanted(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    lowered = str(rel).lower()
    return (
        path.is_file()
        and path.suffix in INCLUDE_SUFFIXES
        and not EXCLUDE_PARTS.intersection(rel.parts)
        and not any(p in lowered for p in SECRET_PATTERNS)
    )


def build_archive(repo: Path, function_dir: str) -> SourceArchive:
    """``main.py`` and ``requirements.txt`` of ``functions/<function_dir>`` at the root, ``mixscribe/`` beside."""
    entries: dict[str, bytes] = {}
    source = repo / "functions" / function_dir
    for path in sorted(source.rglob("*")):
        if _wanted(path, source):
            entries[str(path.relative_to(source))] = path.read_bytes()
    for path in sorted((repo / "mixscribe").rglob("*")):
        if _wanted(path, repo):
            entries[str(path.relative_to(repo))] = path.read_bytes()
    if "main.py" not in entries or "requirements.txt" not in entries:
        raise FileNotFoundError(f"functions/{function_dir} needs main.py and requirements.txt")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[name], zipfile.ZIP_DEFLATED)
    return SourceArchive(function_dir, buffer.getvalue())
