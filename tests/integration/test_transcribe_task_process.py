"""The job's CMD as Cloud Run runs it, from the image's files (``artifacts.image``): JSON log lines, exit codes."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from artifacts.image import AssembledImage, assemble
from local_emulators.deployables import deployable_env
from tests.conftest import REPO


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> AssembledImage:
    return assemble(REPO, tmp_path_factory.mktemp("image"), "cpu")


def run_task(image: AssembledImage, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        image.argv(), cwd=image.app, env={**deployable_env(env), **image.env}, capture_output=True, text=True, timeout=timeout
    )


def test_the_task_compiles_none_of_its_modules_at_start(image):
    """The image's folders carry their bytecode (written at build time, as the Dockerfiles do): a task,
    which runs with PYTHONDONTWRITEBYTECODE as a user that could not write it, loads every module of
    ours from it instead of compiling the sources at each cold start."""
    env = {**deployable_env(dict(os.environ)), **image.env, "PYTHONDONTWRITEBYTECODE": "1"}
    python = image.argv()[0]
    proc = subprocess.run(
        [python, "-v", "-c", "import jobs.transcribe.main, mixscribe.transcription.shared_windows"],
        cwd=image.app,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = [line for line in proc.stderr.splitlines() if line.startswith("# code object from") and str(image.app) in line]
    assert len(loaded) > 50
    compiled = [line for line in loaded if line.endswith(".py")]
    assert compiled == []


def test_bad_configuration_exits_non_zero_with_one_json_line(image):
    proc = run_task(image, {**os.environ, "MIXSCRIBE_IDLE_TIMEOUT_S": "soon"}, 60)
    assert proc.returncode == 1
    last = json.loads(proc.stderr.strip().splitlines()[-1])
    assert last["severity"] == "CRITICAL" and last["message"] == "task crashed"
    assert "MIXSCRIBE_IDLE_TIMEOUT_S" in last["stack_trace"]


def test_idle_queue_exits_zero(stack, image):
    env = {
        **os.environ,
        **stack.env,
        "MIXSCRIBE_IDLE_TIMEOUT_S": "2",
        "MIXSCRIBE_DISPATCH_DEBOUNCE_S": "1",
        "MIXSCRIBE_BATCH_DEBOUNCE_S": "1",
        "MIXSCRIBE_REQUESTS_TOPIC": "tests-idle",
    }
    from google.cloud import pubsub_v1

    from mixscribe.topology import WORK_QUEUES

    project = stack.env["GOOGLE_CLOUD_PROJECT"]
    for queue in WORK_QUEUES:  # nothing is ever published to these queues
        topic = f"projects/{project}/topics/{queue.topic('tests-idle')}"
        pubsub_v1.PublisherClient().create_topic(request={"name": topic})
        pubsub_v1.SubscriberClient().create_subscription(
            request={"name": f"projects/{project}/subscriptions/{queue.subscription('tests-idle')}", "topic": topic}
        )
    proc = run_task(image, env, 120)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stderr.splitlines()]
    messages = [line["message"] for line in lines]
    # the model loads beside the clients: its line may come before or after the task's first
    assert [m for m in messages if m != "model loaded"][0] == "task started" and messages[-1] == "worker leaving"
    assert messages.count("model loaded") <= 1  # the preload, once at most (an idle task may leave before it ends)
    started = next(line for line in lines if line["message"] == "task started")
    assert started["queues"] == ["high", "normal", "batch"]  # outside a named Cloud Run job: every queue, most urgent first
