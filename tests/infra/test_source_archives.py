"""Function source archives: what each declares, deterministic, pinned, nothing secret or stray."""

from __future__ import annotations

import shutil

import pytest

from artifacts.functions import CONSTRAINT_LINE, SOURCES, ArchiveError, build_archive
from tests.conftest import REPO


def copy_repo(tmp_path):
    repo = tmp_path / "repo"
    for part in ("functions", "mixscribe"):
        shutil.copytree(REPO / part, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "constraints.txt", repo / "constraints.txt")
    return repo


@pytest.mark.parametrize("directory", sorted(SOURCES))
def test_archives_hold_the_function_the_shared_package_and_the_lock(directory):
    archive = build_archive(REPO, directory)
    content = set(archive.names())
    assert {"main.py", "requirements.txt", "constraints.txt", "mixscribe/__init__.py", "mixscribe/intake.py"} <= content
    assert not any(n.startswith((".local", "tests", ".venv", "functions/")) or "__pycache__" in n for n in content)
    assert archive.object_name == f"functions/{directory}-{archive.sha256[:16]}.zip"
    assert build_archive(REPO, directory).data == archive.data  # same code, same bytes, same name


def test_the_api_archive_carries_its_page_and_its_openapi_file():
    """Defect: the archive kept only .py .txt .json .md, so the deployed API answered 404/500."""
    content = set(build_archive(REPO, "api").names())
    assert {"assets/index.html", "assets/app.js", "assets/app.css", "mixscribe/webapi/openapi.yaml"} <= content


def test_every_file_beside_a_function_is_declared_or_python(tmp_path):
    """Nothing in a function's folder is silently left out: a new asset must be declared."""
    for directory, source in SOURCES.items():
        folder = REPO / source.folder
        for path in folder.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".py" and path.name != "requirements.txt":
                assert path.relative_to(REPO).as_posix() in source.data_files, f"{path} is not declared for {directory}"


@pytest.mark.parametrize("directory", sorted(SOURCES))
def test_requirements_install_only_locked_versions(directory):
    """Defect: archives installed requirements.txt without constraints (protobuf 7.36 where tests ran 6.33)."""
    import io
    import zipfile

    archive = zipfile.ZipFile(io.BytesIO(build_archive(REPO, directory).data))
    lines = archive.read("requirements.txt").decode().splitlines()
    assert lines[-1] == CONSTRAINT_LINE
    assert archive.read("constraints.txt") == (REPO / "constraints.txt").read_bytes()
    pinned = [line for line in lines if line and not line.startswith(("#", "-c"))]
    assert pinned and all("==" in line for line in pinned)


def test_a_missing_declared_file_fails_the_build_naming_it(tmp_path):
    repo = copy_repo(tmp_path)
    (repo / "functions" / "api" / "assets" / "app.js").unlink()
    with pytest.raises(ArchiveError, match="functions/api/assets/app.js"):
        build_archive(repo, "api")


def test_secrets_and_local_state_never_enter_an_archive(tmp_path):
    repo = copy_repo(tmp_path)
    before = build_archive(repo, "notes")
    (repo / "mixscribe" / "signing.key").write_text("secret")
    (repo / "mixscribe" / "service-account.json").write_text("{}")
    (repo / "functions" / "notes" / ".env").write_text("MIXSCRIBE_LLM_API_KEY=sk-test")
    (repo / "functions" / "notes" / ".local").mkdir()
    (repo / "functions" / "notes" / ".local" / "env.py").write_text("x = 1")
    after = build_archive(repo, "notes")
    assert after.data == before.data
    (repo / "mixscribe" / "config.py").write_text((repo / "mixscribe" / "config.py").read_text() + "\n# changed\n")
    changed = build_archive(repo, "notes")
    assert changed.object_name != before.object_name  # changed code redeploys, unchanged does not
