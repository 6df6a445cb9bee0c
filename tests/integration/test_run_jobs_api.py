"""The local Cloud Run Admin API stand-in, driven by the code the cloud runs: ``CloudRunLauncher``
with the official ``google-cloud-run`` REST clients. Task env, parallel tasks, retries, live counts."""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import ThreadingHTTPServer

import pytest
from google.api_core import exceptions as gexc

from local_emulators.processes import free_ports
from local_emulators.run_jobs import JobDefinition, LocalJobsApi, make_handler
from mixscribe.config import Settings
from mixscribe.gcp.cloud_run_launcher import CloudRunLauncher

# A real task process: records its env, fails until attempt 2 on task 1.
TASK = (
    "import json, os, sys, time; "
    "e = {k: v for k, v in os.environ.items() if k.startswith(('CLOUD_RUN_', 'MIXSCRIBE_CPU'))}; "
    "print(json.dumps(e)); time.sleep(float(os.environ.get('HOLD_S', '0'))); "
    "sys.exit(3 if e['CLOUD_RUN_TASK_INDEX'] == '1' and e['CLOUD_RUN_TASK_ATTEMPT'] != '2' else 0)"
)


@pytest.fixture()
def run_api(tmp_path):
    """The stand-in on a free port with a ``demo`` job, and a launcher for it as on_upload builds one."""
    api = LocalJobsApi(
        {"demo": JobDefinition("demo", [sys.executable, "-c", TASK], max_retries=3, env={"HOLD_S": "1.5"})}, tmp_path, cores=4
    )
    (port,) = free_ports(1)
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(api))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = Settings(project="p", region="r", launcher="cloudrun", run_api_endpoint=f"http://127.0.0.1:{port}")
    yield api, CloudRunLauncher(settings, "demo"), settings
    server.shutdown()


def test_the_cloud_launcher_starts_tasks_that_get_cloud_run_env_and_retries(run_api, tmp_path):
    api, launcher, _ = run_api
    name = launcher.run(3)
    assert name.startswith("projects/p/locations/r/jobs/demo/executions/demo-")
    assert launcher.live_tasks() == 3  # pending or running, as ListExecutions reports them
    execution = api.executions[name.rsplit("/", 1)[1]]
    assert execution.done.wait(60)
    assert execution.exit_codes == {0: [0], 1: [3, 3, 0], 2: [0]}
    assert launcher.live_tasks() == 0
    lines = [json.loads(line) for line in (tmp_path / f"{execution.name}-task1.log").read_text().splitlines()]
    assert [line["CLOUD_RUN_TASK_ATTEMPT"] for line in lines] == ["0", "1", "2"]
    assert {line["CLOUD_RUN_TASK_COUNT"] for line in lines} == {"3"}
    assert {line["CLOUD_RUN_EXECUTION"] for line in lines} == {execution.name}
    assert {line["MIXSCRIBE_CPU_THREADS"] for line in lines} == {"1"}  # 4 cores shared by 3 tasks, said explicitly


def test_executions_read_back_through_the_official_client(run_api):
    from google.cloud import run_v2

    api, launcher, settings = run_api
    name = launcher.run(1)
    client = run_v2.ExecutionsClient(
        transport="rest",
        client_options={"api_endpoint": settings.run_api_endpoint},
        credentials=__import__("google.auth.credentials", fromlist=["x"]).AnonymousCredentials(),
    )
    running = client.get_execution(name=name)
    assert running.task_count == 1 and running.running_count == 1 and "completion_time" not in running
    deadline = time.monotonic() + 30
    while "completion_time" not in client.get_execution(name=name) and time.monotonic() < deadline:
        time.sleep(0.2)
    done = client.get_execution(name=name)
    assert done.succeeded_count == 1 and "completion_time" in done
    assert [e.name for e in client.list_executions(parent=launcher.name)] == [name]


def test_unknown_jobs_and_bad_counts_are_refused_like_the_api(run_api):
    api, _, settings = run_api
    other = CloudRunLauncher(settings, "nope")
    with pytest.raises(gexc.NotFound):
        other.run(1)
    _, launcher, _ = run_api
    with pytest.raises(gexc.BadRequest):
        launcher.run(1000)  # more tasks than this machine runs


def test_the_batch_jobs_tasks_yield_the_shared_cores(tmp_path):
    """Locally every task shares this machine's cores (Cloud Run gives each its own): the tasks of the
    job that pulls only the batch queue run at nice 10, so a high-priority task is not slowed by the
    backlog's; a job that pulls an urgent queue keeps the stand-in's own priority."""
    import os

    from local_emulators.run_jobs import BACKGROUND_NICE, background_jobs

    settings = Settings()
    assert background_jobs(settings) == {settings.cpu_job}
    assert background_jobs(Settings(gpu_job="transcribe", cpu_job="transcribe")) == set()  # one job pulls every queue
    report = "import os; print(os.nice(0))"
    jobs = {
        name: JobDefinition(name, [sys.executable, "-c", report], max_retries=0, nice=BACKGROUND_NICE if background else 0)
        for name, background in (("urgent", False), ("backlog", True))
    }
    api = LocalJobsApi(jobs, tmp_path, cores=2)
    for name in jobs:
        execution = api.run_job(name, 1)
        assert execution.done.wait(30)
    mine = os.nice(0)
    niceness = {name: int((tmp_path / f"{e.name}-task0.log").read_text()) for name in jobs for e in api.of_job(name)}
    assert niceness == {"urgent": mine, "backlog": min(19, mine + BACKGROUND_NICE)}
