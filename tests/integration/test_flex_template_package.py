"""The Flex Template as it ships: its Dockerfile copies what ``artifacts.flex_template`` declares, the
package a launch stages for Dataflow's workers (built by Beam's own stager from the template's setup
file) holds every module and data file the pipeline uses, and the pipeline runs from that package alone
into the BigQuery emulator; the launcher does not wait on a Dataflow job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile

import pytest

from artifacts.flex_template import FLEX_TEMPLATE, assemble_template, template_files, worker_package
from bench.analytics_throughput import synthetic_events
from tests.conftest import REPO, bigquery_for
from tests.infra.test_images_and_stacks import instructions

DOCKERFILE = REPO / FLEX_TEMPLATE.dockerfile


def test_the_dockerfile_copies_and_points_at_what_the_template_declares():
    steps = instructions(DOCKERFILE)
    copies = {tuple(rest.split()) for keyword, rest in steps if keyword == "COPY"}
    expected = {(folder, f"{FLEX_TEMPLATE.workdir}/{folder}") for folder in FLEX_TEMPLATE.copies}
    expected |= {(source, f"{FLEX_TEMPLATE.workdir}/{target}") for source, target in FLEX_TEMPLATE.files.items()}
    assert copies == expected
    env = " ".join(rest for keyword, rest in steps if keyword == "ENV")
    assert f"FLEX_TEMPLATE_PYTHON_PY_FILE={FLEX_TEMPLATE.workdir}/{FLEX_TEMPLATE.py_file}" in env
    assert f"FLEX_TEMPLATE_PYTHON_SETUP_FILE={FLEX_TEMPLATE.workdir}/{FLEX_TEMPLATE.setup_file}" in env
    # no requirements file: the launcher would download and stage every package for the workers at each launch
    assert "FLEX_TEMPLATE_PYTHON_REQUIREMENTS_FILE" not in env
    files = template_files(REPO)
    assert FLEX_TEMPLATE.py_file in files and "mixscribe/warehouse_views/jobs_current.sql" in files
    assert not any(part in path for path in files for part in ("__pycache__", "tests/", ".pyc"))


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """The workers' package, built from the assembled template and unpacked."""
    root = tmp_path_factory.mktemp("flex")
    template = assemble_template(REPO, root / "template")
    sdist = worker_package(template, root / "dist")
    with tarfile.open(sdist) as archive:
        archive.extractall(root / "unpacked", filter="data")
    (folder,) = (root / "unpacked").iterdir()
    return template, folder


def test_the_workers_package_holds_every_module_and_data_file_of_the_template(package):
    template, folder = package
    shipped = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    needed = {
        rel
        for rel in template_files(REPO)
        if rel.startswith(("beam_pipelines/", "mixscribe/"))
        and rel.endswith((".py", ".sql", ".toml"))
        and "flex_template/" not in rel
        and rel != "beam_pipelines/setup.py"
    }
    assert needed - shipped == set()
    requires = (folder / "mixscribe_analytics.egg-info" / "requires.txt").read_text().split()
    workers = (REPO / FLEX_TEMPLATE.worker_requirements).read_text().splitlines()
    assert requires == [line for line in workers if line and not line.startswith("#")]


def test_the_pipeline_runs_from_the_workers_package_alone(package, bigquery_api, tmp_path):
    _, folder = package
    client = bigquery_for(bigquery_api, "from-package")
    events = tmp_path / "events.jsonl"
    lines = synthetic_events(200)
    events.write_text("\n".join(lines) + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "beam_pipelines.analytics", "events-file", "--events-file", str(events)]
        + ["--bigquery-dataset", "from-package:mixscribe"],
        cwd=folder,
        env={**os.environ, **bigquery_api, "PYTHONPATH": str(folder)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = list(client.query("SELECT COUNT(*) AS jobs FROM mixscribe.jobs_current").result())
    assert rows[0]["jobs"] == len({json.loads(line)["job_id"] for line in lines})


def test_on_dataflow_the_launcher_returns_once_the_job_is_submitted():
    from apache_beam.options.pipeline_options import PipelineOptions

    from beam_pipelines.analytics.pipeline import LOCAL_RUNNERS, waits_for_the_end

    assert not waits_for_the_end(PipelineOptions(["--runner=DataflowRunner"]))
    assert all(waits_for_the_end(PipelineOptions([f"--runner={runner}"])) for runner in LOCAL_RUNNERS.values())
