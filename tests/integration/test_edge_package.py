"""The edge agent as it is deployed: README's install lines, the systemd unit, and the storage role it gets."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from edge_agent.agent import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_SPOOL_FULL
from edge_agent.config import AgentConfig
from local_emulators.deployables import deployable_env
from tests.conftest import REPO
from tests.integration.conftest import EDGE_BUCKET as BUCKET
from tests.support.edge_install import INSTALL_PREFIX, installed_agent, readme_install_block, spool_rows
from tests.support.iam_storage import IamStorage

pytestmark = pytest.mark.integration
UNIT = REPO / "edge_agent" / "deploy" / "mixscribe-edge.service"
sys.path.insert(0, str(REPO / "infra" / "pulumi"))  # the edge role the Pulumi program grants
# roles/storage.objectCreator, as Google documents it: create objects (and XML multipart uploads), nothing to read
# google-cloud-storage looks its bucket up once in the background (tracing attributes); a 403 there is cached and ignored
BACKGROUND = {"storage.buckets.get"}
OBJECT_CREATOR = {
    "storage.objects.create",
    "storage.multipartUploads.create",
    "storage.multipartUploads.abort",
    "storage.multipartUploads.listParts",
    "storage.managedFolders.create",
}


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True, comment_prefixes=("#",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive (configparser's documented way)
    parser.read(UNIT)
    return parser


def install_lines(target: str) -> list[list[str]]:
    """README's ``install`` commands whose destination is ``target``, as argument lists."""
    return [
        shlex.split(line.removeprefix("sudo "))
        for line in readme_install_block()
        if line.startswith("sudo install ") and line.split()[-1] == target
    ]


def mode_owner_group(args: list[str]) -> tuple[int, str, str]:
    flags = dict(zip(args[1::1], args[2::1]))
    return int(flags["-m"], 8), flags.get("-o", "root"), flags.get("-g", "root")


def test_readme_install_gives_a_working_command_and_only_its_dependencies():
    """Defect: README's install on the mixer's computer failed at ``--help`` (ModuleNotFoundError:
    pyloudnorm, reached through the shared package's level meter; the meter now runs on PyAV's FFmpeg filters)."""
    venv = installed_agent()
    command = venv / "bin" / "mixscribe-edge"
    env = deployable_env(dict(os.environ))
    help_text = subprocess.run([str(command), "--help"], cwd=venv, env=env, capture_output=True, text=True, check=True).stdout
    assert "run,drain,status" in help_text
    probe = (
        "import importlib.util as u; print([m for m in ('av', 'pyloudnorm', 'scipy', 'faster_whisper', 'google.cloud.firestore',"
        " 'functions_framework') if u.find_spec(m.split('.')[0]) and (m != 'google.cloud.firestore' or u.find_spec(m))])"
    )
    present = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], cwd=venv, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert present == "['av']"  # what the level meter needs, nothing of the cloud side
    frozen = subprocess.run(
        [str(venv / "bin" / "pip"), "freeze", "--exclude-editable"], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    locked = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in (REPO / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    for line in frozen:
        name, _, version = line.partition("==")
        if not name.lower().startswith("mixscribe-edge"):
            assert locked.get(name.lower().replace("_", "-")) == version, f"{line} is not the version the tests ran"


def test_the_unit_runs_the_installed_command_as_a_user_who_can_read_its_config_and_write_its_spool():
    """Defect: edge.toml was installed root:root 0640 while the unit ran as another user (exit 2), and
    /var/spool/mixscribe was never created although ProtectSystem=strict and ReadWritePaths needed it."""
    service = unit()["Service"]
    user, group = service["User"], service["Group"]
    groups = {group, *service.get("SupplementaryGroups", "").split()}
    exec_start = shlex.split(service["ExecStart"])
    assert exec_start[0] == f"{INSTALL_PREFIX}/bin/mixscribe-edge" and exec_start[1] == "run"
    config_path = exec_start[exec_start.index("--config") + 1]
    key_path = service["Environment"].split("=", 1)[1]
    for path in (config_path, key_path):
        (args,) = install_lines(path)
        mode, owner, owning_group = mode_owner_group(args)
        readable = (owner == user and mode & 0o400) or (owning_group in groups and mode & 0o040)
        assert readable, f"{path} ({oct(mode)} {owner}:{owning_group}) is unreadable for {user} ({', '.join(groups)})"
        assert not mode & 0o007, f"{path} must not be readable by everyone"
    (folder,) = install_lines("/etc/mixscribe")
    mode, _, owning_group = mode_owner_group(folder)
    assert owning_group in groups and mode & 0o050 == 0o050  # the user may enter its config folder
    assert any(
        line.startswith("sudo useradd --system --user-group --groups audio") and line.endswith(f" {user}")
        for line in readme_install_block()
    )
    assert "ReadWritePaths" not in service and service["ProtectSystem"] == "strict"
    state = Path("/var/lib") / service["StateDirectory"]  # systemd creates it for the user, writable
    example = tomllib.loads((REPO / "edge_agent" / "deploy" / "edge.toml").read_text())
    assert Path(example["spool_dir"]).is_relative_to(state) and Path(AgentConfig().spool_dir).is_relative_to(state)


def test_the_units_restart_rules_match_the_agents_exit_codes():
    """Defect: the unit said exit 3 (spool full) retried slowly, but it restarted every 5 s."""
    service = unit()["Service"]
    assert service["Restart"] == "on-failure"  # 0: a clean stop stays stopped
    prevented = {int(code) for code in service["RestartPreventExitStatus"].split()}
    assert prevented == {EXIT_CONFIG}  # a configuration error waits for an operator
    assert {EXIT_FAILED, EXIT_SPOOL_FULL}.isdisjoint(prevented) and EXIT_OK == 0
    # "slowly" is the agent's own hold before it exits 3, far longer than the restart delay
    assert AgentConfig().spool_full_hold_s >= 60 * int(service["RestartSec"])
    documented = dict(re.findall(r"^#\s+(\d)\s+(\S.*?)\s{2,}", UNIT.read_text(), re.M))
    assert set(documented) == {str(c) for c in (EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_SPOOL_FULL)}


def replay(storage_url: str, spool: Path, source: Path) -> subprocess.Popen:
    """The installed agent replaying ``source`` into ``storage_url``."""
    spool.parent.mkdir(parents=True)
    env = {**deployable_env(dict(os.environ)), "STORAGE_EMULATOR_HOST": storage_url}
    return subprocess.Popen(
        [
            str(installed_agent() / "bin" / "mixscribe-edge"),
            "run",
            "--source",
            str(source),
            "--fast",
            "--spool",
            str(spool),
            "--bucket",
            BUCKET,
            "--device-id",
            "iam-test",
            "--segment-s",
            "5",
            "--quiet-window-s",
            "1",
        ],
        cwd=spool.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def spool_states(spool: Path) -> list[str]:
    return [row["state"] for row in spool_rows(spool)]


def test_the_edge_role_is_enough_for_retried_uploads_and_object_creator_is_not(edge_gcs, audio_dir: Path, tmp_path: Path):
    """Defect: the documented roles/storage.objectCreator lacks objects.get, which the uploader calls on
    every retry, so a retried upload got 403 forever. The Pulumi program's edge role (tested in
    tests/infra) allows create and get under edge/; a front that enforces exactly that answers 403 to
    anything else and fails each object's first upload attempt, so every segment is retried."""
    from mixscribe_infra.identity import EDGE_PREFIX, EDGE_UPLOADER_PERMISSIONS

    source = audio_dir / "two_voices.wav"
    with IamStorage(edge_gcs.url, set(EDGE_UPLOADER_PERMISSIONS), EDGE_PREFIX, fail_first_upload=True) as front:
        run = replay(front.url, tmp_path / "edge-role" / "spool", source)
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err[-2000:]
        assert set(spool_states(tmp_path / "edge-role" / "spool")) == {"uploaded"}
        assert {p for p, _ in front.denied} <= BACKGROUND and "upload failed; will retry" in err  # second attempts
    uploaded = sorted(b.name for b in edge_gcs.client().list_blobs(BUCKET))
    assert uploaded and all(name.startswith("edge/iam-test/") for name in uploaded)

    with IamStorage(edge_gcs.url, OBJECT_CREATOR, EDGE_PREFIX, fail_first_upload=True) as front:
        spool = tmp_path / "creator-role" / "spool"
        run = replay(front.url, spool, source)
        deadline = time.monotonic() + 60
        while not [p for p, _ in front.denied if p not in BACKGROUND] and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # more retries, refused the same way
        run.send_signal(signal.SIGTERM)
        run.communicate(timeout=60)
        assert {permission for permission, _ in front.denied} - BACKGROUND == {"storage.objects.get"}
        states = spool_states(spool)
        assert "spooled" in states and "uploaded" not in states  # kept locally, never confirmed
