"""The local Cloud Run Jobs stand-in: task env, parallel tasks, retries up to max-retries."""

from __future__ import annotations

import json
import sys

from local_emulators.run_jobs import JobDefinition, LocalJobsApi

# A real task process: records its env, fails until attempt 2 on task 1.
TASK = (
    "import json, os, sys; "
    "e = {k: v for k, v in os.environ.items() if k.startswith('CLOUD_RUN_')}; "
    "print(json.dumps(e)); "
    "sys.exit(3 if e['CLOUD_RUN_TASK_INDEX'] == '1' and e['CLOUD_RUN_TASK_ATTEMPT'] != '2' else 0)"
)


def test_tasks_get_cloud_run_env_and_failed_tasks_are_retried(tmp_path):
    api = LocalJobsApi({"demo": JobDefinition("demo", [sys.executable, "-c", TASK], max_retries=3)}, tmp_path)
    execution = api.run_job("demo", task_count=3)
    assert execution.done.wait(60)
    assert execution.exit_codes == {0: [0], 1: [3, 3, 0], 2: [0]}
    assert execution.succeeded == 3
    lines = [json.loads(l) for l in (tmp_path / f"{execution.name}-task1.log").read_text().splitlines()]
    assert [l["CLOUD_RUN_TASK_ATTEMPT"] for l in lines] == ["0", "1", "2"]
    assert {l["CLOUD_RUN_TASK_COUNT"] for l in lines} == {"3"}
    assert {l["CLOUD_RUN_EXECUTION"] for l in lines} == {execution.name}


def test_retries_stop_at_max_retries(tmp_path):
    failing = JobDefinition("fail", [sys.executable, "-c", "raise SystemExit(9)"], max_retries=2)
    execution = LocalJobsApi({"fail": failing}, tmp_path).run_job("fail", 1)
    assert execution.done.wait(60)
    assert execution.exit_codes == {0: [9, 9, 9]} and execution.succeeded == 0
