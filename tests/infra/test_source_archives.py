"""Function source archives: the function plus the shared package, deterministic, nothing secret."""

from __future__ import annotations

import io
import shutil
import zipfile

from mixscribe_infra.archives import build_archive
from tests.conftest import REPO


def names(archive) -> set[str]:
    return set(zipfile.ZipFile(io.BytesIO(archive.data)).namelist())


def test_archives_hold_the_function_and_the_shared_package():
    for function in ("on_upload", "notes"):
        archive = build_archive(REPO, function)
        content = names(archive)
        assert {"main.py", "requirements.txt", "mixscribe/__init__.py", "mixscribe/intake.py"} <= content
        assert not any(n.startswith((".local", "tests", ".venv")) or "__pycache__" in n for n in content)
        assert archive.object_name == f"functions/{function}-{archive.sha256[:16]}.zip"
        assert build_archive(REPO, function).data == archive.data  # same code, same bytes, same name


def test_secrets_and_local_state_never_enter_an_archive(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "functions" / "notes", repo / "functions" / "notes", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "mixscribe", repo / "mixscribe", ignore=shutil.ignore_patterns("__pycache__"))
    before = build_archive(repo, "notes")
    (repo / "mixscribe" / "signing.key").write_text("secret")
    (repo / "mixscribe" / "service-account.json").write_text("{}")
    (repo / "functions" / "notes" / ".env").write_text("MIXSCRIBE_LLM_API_KEY=sk-test")
    (repo / "functions" / "notes" / ".local").mkdir()
    (repo / "functions" / "notes" / ".local" / "env.txt").write_text("x")
    after = build_archive(repo, "notes")
    assert after.data == before.data
    (repo / "mixscribe" / "config.py").write_text((repo / "mixscribe" / "config.py").read_text() + "\n# changed\n")
    changed = build_archive(repo, "notes")
    assert changed.object_name != before.object_name  # changed code redeploys, unchanged does not
