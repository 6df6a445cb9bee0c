"""The ``mixscribe`` command, installed on its own as README says (no server packages), against the local
stack: login with an API key, transcribe with upload and job progress, outputs beside the files equal to
the API's, the job list, get, rm, and bad input that fails alone."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.integration.test_api import new_client
from tests.support.package_install import installed_package

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
INSTALL_PREFIX = "~/.local/mixscribe-cli"


@pytest.fixture(scope="module")
def cli_venv() -> Path:
    return installed_package("cli-install", INSTALL_PREFIX, ("mixscribe_cli",))


def run(venv: Path, home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8", **(env or {})}
    return subprocess.run(
        [str(venv / "bin" / "mixscribe"), *args], env=environment, capture_output=True, text=True, timeout=300, cwd=home
    )


def test_the_client_installs_without_any_server_package(cli_venv: Path, tmp_path: Path):
    pip = [str(cli_venv / "bin" / "pip"), "list", "--format=freeze"]
    listed = subprocess.run(pip, capture_output=True, text=True, check=True)
    names = {line.split("==")[0].lower() for line in listed.stdout.splitlines()}
    assert {"mixscribe-cli", "httpx", "httpx-sse", "tqdm"} <= names
    assert not names & {"flask", "functions-framework", "faster-whisper", "google-cloud-storage", "google-cloud-firestore"}
    python = str(cli_venv / "bin" / "python")
    probe = subprocess.run([python, "-c", "import mixscribe"], capture_output=True, text=True, cwd=tmp_path)
    assert probe.returncode != 0  # the server's domain package is not in it


def test_login_transcribe_follow_get_list_and_remove(stack, cli_venv: Path, tmp_path: Path, audio_dir: Path):
    api = new_client(stack, "cli")
    key = api.call("POST", "/v1/keys", json={"name": "cli test"}).json()["key"]
    home = tmp_path / "home"
    home.mkdir()

    refused = run(cli_venv, home, "login", "--url", api.base, "--key", "msk_" + "0" * 16 + "_" + "x" * 43)
    assert refused.returncode == 1 and "refused the key" in refused.stderr
    logged = run(cli_venv, home, "login", "--url", api.base, "--key", key)
    assert logged.returncode == 0, logged.stderr
    stored = home / ".config" / "mixscribe" / "client.toml"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600 and key in stored.read_text()
    assert key not in logged.stdout + logged.stderr

    work = tmp_path / "work"
    work.mkdir()
    meeting = work / "meeting.flac"
    meeting.write_bytes((REPO / "samples" / "meeting.flac").read_bytes())
    speech = work / "speech.wav"
    speech.write_bytes((audio_dir / "speech.wav").read_bytes())
    not_audio = work / "notes.txt"
    not_audio.write_text("not audio")

    files = (str(meeting), str(not_audio), str(speech))
    done = run(cli_venv, home, "transcribe", *files, "--format", "srt", "--format", "txt", "--wait", "--no-notes")
    assert done.returncode == 1, done.stdout + done.stderr  # one file was refused; the others went through
    assert "notes.txt: not uploaded: unsupported_format" in done.stderr
    jobs = {line.split(": job ")[0]: line.split(": job ")[1] for line in done.stdout.splitlines() if ": job " in line}
    assert set(jobs) == {str(meeting), str(speech)}
    assert "upload meeting.flac" in done.stderr and "%" in done.stderr  # the bars: upload, then the job's progress
    for path in (meeting, speech):
        job_id = jobs[str(path)]
        for fmt in ("srt", "txt"):
            written = path.with_name(f"{path.stem}.{fmt}").read_text()
            assert written == api.call("GET", f"/v1/jobs/{job_id}/transcript?format={fmt}").text
    assert "planning meeting" in meeting.with_name("meeting.txt").read_text().lower()

    listed = run(cli_venv, home, "jobs")
    assert listed.returncode == 0 and jobs[str(meeting)] in listed.stdout and "meeting.flac" in listed.stdout
    vtt = run(cli_venv, home, "get", jobs[str(speech)], "--format", "vtt")
    assert vtt.returncode == 0 and vtt.stdout == api.call("GET", f"/v1/jobs/{jobs[str(speech)]}/transcript?format=vtt").text

    removed = run(cli_venv, home, "rm", jobs[str(speech)])
    assert removed.returncode == 0 and f"deleted {jobs[str(speech)]}" in removed.stdout
    gone = run(cli_venv, home, "get", jobs[str(speech)])
    assert gone.returncode == 1 and "not_found" in gone.stderr

    # without --wait: the job id at once; the environment overrides the stored login
    login = {"MIXSCRIBE_API_URL": api.base, "MIXSCRIBE_API_KEY": key}
    quick = run(cli_venv, tmp_path, "-q", "transcribe", str(meeting), env=login)
    assert quick.returncode == 0 and quick.stdout.startswith(f"{meeting}: job j") and quick.stderr == ""
    nobody = run(cli_venv, tmp_path, "jobs")
    assert nobody.returncode == 2 and "mixscribe login" in nobody.stderr
