"""Flex Template entry point: template parameters arrive as ``--name=value`` flags."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from beam_pipelines.analytics.pipeline import run  # noqa: E402 (the template's image runs this file directly: repository root first)


def to_pipeline_args(argv: list[str]) -> list[str]:
    """``--mode=streaming --subscription=… --bigquery_dataset=…`` → the pipeline's own arguments."""
    mode = next((a.split("=", 1)[1] for a in argv if a.startswith("--mode=")), "streaming")
    rest = [
        a.replace("--bigquery_dataset=", "--bigquery-dataset=").replace("--results_bucket=", "--results-bucket=")
        for a in argv
        if not a.startswith("--mode=")
    ]
    return [mode, *rest]


if __name__ == "__main__":
    run(to_pipeline_args(sys.argv[1:]))
