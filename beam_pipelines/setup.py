"""The analytics pipeline's package for Dataflow workers (the Flex Template's FLEX_TEMPLATE_PYTHON_SETUP_FILE).

The template image holds this file at its root beside ``beam_pipelines/`` and ``mixscribe/``
(artifacts/flex_template.py); at launch Beam builds an sdist of it and stages it, and every worker
installs it with ``requirements-workers.txt`` on top of the SDK container's apache-beam[gcp].
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
WORKER_REQUIREMENTS = HERE / "beam_pipelines" / "requirements-workers.txt"

setup(
    name="mixscribe-analytics",
    version="1.0.0",
    packages=find_packages(include=["beam_pipelines", "beam_pipelines.*", "mixscribe", "mixscribe.*"]),
    package_data={"mixscribe": ["registries/*.toml", "warehouse_views/*.sql"], "beam_pipelines.analytics": ["queries/*.sql"]},
    install_requires=[
        line.strip() for line in WORKER_REQUIREMENTS.read_text().splitlines() if line.strip() and not line.startswith("#")
    ],
    python_requires=">=3.11",
)
