"""The model registry: one declaration of the models offered, checked when read, at intake and at a task's start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mixscribe.config import Settings
from mixscribe.errors import ErrorCode, PermanentError
from mixscribe.model_registry import RegistryError, load_registry, parse_registry
from mixscribe.transcription.engine import ModelsMissing, check_baked_models
from mixscribe.uploads import parse_options
from tests.conftest import REPO

BAKE = REPO / "scripts" / "bake_models.py"


def test_both_registries_read_and_promise_what_the_issue_asks():
    cloud, local = load_registry("cloud"), load_registry("local")
    assert cloud.defaults == {"high": "large-v3-turbo", "normal": "large-v3-turbo", "batch": "small"}
    assert cloud.english_route("large-v3-turbo") == "distil-large-v3" and cloud.english_route("small") == "small.en"
    assert {s.name for s in cloud.carried_by("gpu")} == {"large-v3-turbo", "distil-large-v3"}
    assert {s.name for s in cloud.carried_by("cpu")} == {"small", "small.en"}
    assert all(s.source == "hub" and s.repo for s in cloud.models.values())
    assert set(local.models) == {"tiny.en", "base"} and all(s.pinned for s in local.models.values())
    assert local.models["base"].languages == "multilingual" and local.models["tiny.en"].english_only


def test_intake_takes_the_priority_default_and_refuses_what_the_class_lacks():
    cloud = Settings(model_registry="cloud")
    assert parse_options({"priority": "high"}, cloud).model == "large-v3-turbo"
    assert parse_options({"priority": "batch"}, cloud).model == "small"
    assert parse_options({"priority": "batch", "model": "small.en", "language": "en"}, cloud).model == "small.en"
    for bad in ({"priority": "batch", "model": "large-v3-turbo"}, {"model": "distil-large-v3", "language": "fr"}):
        with pytest.raises(PermanentError) as info:
            parse_options(bad, cloud)
        assert info.value.code is ErrorCode.INVALID_OPTION
    assert "runs on the gpu job, not on cpu" in _message({"priority": "batch", "model": "large-v3-turbo"}, cloud)


def _message(metadata: dict[str, str], settings: Settings) -> str:
    with pytest.raises(PermanentError) as info:
        parse_options(metadata, settings)
    return info.value.message


LOCAL = (REPO / "mixscribe" / "registries" / "local.toml").read_text()


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda t: t.replace('batch = "tiny.en"', 'batch = "nope"'), "nope"),
        (lambda t: t.replace('batch = "tiny.en"\n', ""), "defaults must name a model for each priority"),
        (lambda t: t.replace('english_variant = "tiny.en"', 'english_variant = "base"'), "not an English-only model"),
        (lambda t: t.replace('languages = "en"', 'languages = "klingon"'), "languages must be"),
        (lambda t: t.replace('classes = ["gpu", "cpu"]', 'classes = ["tpu"]', 1), "classes must be"),
    ],
)
def test_a_registry_that_contradicts_itself_is_refused(change, reason):
    with pytest.raises((RegistryError, PermanentError), match=reason):
        parse_registry(change(LOCAL))


def test_a_task_refuses_to_start_without_the_models_its_class_carries(tmp_path):
    settings = Settings(model_root=str(tmp_path), job_name="transcribe-cpu")
    with pytest.raises(ModelsMissing, match=r"base: .*model\.bin.*tiny\.en"):
        check_baked_models(settings)
    check_baked_models(Settings(job_name="transcribe-cpu"))  # the baked .models folder holds both


def test_bake_rebuilds_split_files_checks_hashes_and_refuses_unpinned(tmp_path):
    """Bake from a registry whose files come from a local folder posing as the hub (--mirror): a right
    file is baked, a wrong hash stops the bake and leaves nothing, an unpinned model is refused."""
    tiny = load_registry("local").models["tiny.en"]
    mirror = tmp_path / "mirror" / "example" / "tiny"
    mirror.mkdir(parents=True)
    for f in tiny.files:
        (mirror / f.name).write_bytes((REPO / ".models" / "tiny.en" / f.name).read_bytes())
    files = "\n".join(f'files."{f.name}" = {{ sha256 = "{f.sha256}", size = {f.size} }}' for f in tiny.files)
    registry = tmp_path / "hubbed.toml"
    header = '[defaults]\nhigh = "tiny"\nnormal = "tiny"\nbatch = "tiny"\n'
    model = '[models.tiny]\nlanguages = "en"\nclasses = ["gpu", "cpu"]\nsource = "hub"\nrepo = "example/tiny"\n'
    registry.write_text(f'{header}{model}revision = "0123abc"\n{files}\n')
    dest = tmp_path / "models"
    run = [
        sys.executable,
        str(BAKE),
        "bake",
        "--registry",
        str(registry),
        "--dest",
        str(dest),
        "--mirror",
        str(tmp_path / "mirror"),
    ]
    assert subprocess.run(run, capture_output=True, text=True).returncode == 0
    baked = json.loads((dest / "tiny" / ".baked.json").read_text())
    assert baked == {f.name: f.sha256 for f in tiny.files} and (dest / "tiny" / "model.bin").stat().st_size > 10**7
    assert "already baked" in subprocess.run(run, capture_output=True, text=True).stdout

    registry.write_text(f'{header}{model}revision = "0123abc"\n{files.replace(tiny.files[1].sha256, "0" * 64)}\n')
    wrong = subprocess.run([*run[:-4], "--dest", str(tmp_path / "other"), *run[-2:]], capture_output=True, text=True)
    assert wrong.returncode == 1 and "SHA-256" in wrong.stderr
    assert not [p for p in (tmp_path / "other").iterdir() if not p.name.startswith(".")]

    registry.write_text(f"{header}{model}\n")
    unpinned = subprocess.run(run, capture_output=True, text=True)
    assert unpinned.returncode == 1 and "not pinned" in unpinned.stderr


def test_the_cloud_registry_cannot_be_baked_until_pinned(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(BAKE), "bake", "--registry", "cloud", "--job-class", "cpu", "--dest", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and "small is not pinned" in proc.stderr and "bake_models.py pin" in proc.stderr
    assert list(Path(tmp_path).iterdir()) == []
