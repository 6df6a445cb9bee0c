"""Batch source: rebuild ``jobs`` rows from the results bucket (``jobs/*/metrics.json`` and notes).

What the bucket does not know (queue and notes timings, owner of rejected uploads) stays empty; a
row from here is merged with what the event stream already wrote (the sink never overwrites a
value with an empty one).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import apache_beam as beam

from mixscribe.jobs import JobStatus


def job_row_from_results(metrics: dict[str, Any], notes: dict[str, Any] | None, finished_at: Any) -> dict[str, Any]:
    usage = (notes or {}).get("usage") or {}
    return {
        "job_id": metrics["job_id"],
        "status": (JobStatus.DONE if notes else JobStatus.TRANSCRIBED).value,
        "model": metrics.get("model"),
        "language": metrics.get("language"),
        "created_at": finished_at,
        "transcribed_at": finished_at,
        "completed_at": finished_at if notes else None,
        "transcribe_s": (metrics.get("timings") or {}).get("total_s"),
        "audio_duration_s": metrics.get("duration_s"),
        "speech_ratio": metrics.get("speech_ratio"),
        "loudness_lufs": metrics.get("loudness_lufs"),
        "clipping_ratio": metrics.get("clipping_ratio"),
        "real_time_factor": metrics.get("real_time_factor"),
        "word_count": metrics.get("word_count"),
        "notes_generator": (notes or {}).get("generator"),
        "llm_prompt_tokens": usage.get("prompt_tokens"),
        "llm_completion_tokens": usage.get("completion_tokens"),
        "llm_cost_usd": (notes or {}).get("cost_usd"),
        "attempts": ((metrics.get("worker") or {}).get("attempt") or 0) + 1,
        "updated_at": finished_at,
    }


class _ReadJob(beam.DoFn):
    def __init__(self, bucket: str) -> None:
        self.bucket_name = bucket

    def setup(self) -> None:
        from mixscribe.config import Settings
        from mixscribe.gcp import storage_client

        self.bucket = storage_client(Settings.from_env()).bucket(self.bucket_name)

    def process(self, prefix: str) -> Iterable[dict[str, Any]]:
        metrics_blob = self.bucket.get_blob(f"{prefix}metrics.json")
        if metrics_blob is None:
            return
        notes_blob = self.bucket.get_blob(f"{prefix}notes.json")
        notes = json.loads(notes_blob.download_as_text()) if notes_blob else None
        finished = (notes_blob or metrics_blob).time_created
        yield job_row_from_results(json.loads(metrics_blob.download_as_text()), notes, finished)


def list_job_prefixes(bucket_name: str) -> list[str]:
    from mixscribe.config import Settings
    from mixscribe.gcp import storage_client

    client = storage_client(Settings.from_env())
    return sorted(
        {
            b.name.rsplit("/", 1)[0] + "/"
            for b in client.list_blobs(bucket_name, prefix="jobs/")
            if b.name.endswith("/metrics.json")
        }
    )


class ReadResultsBucket(beam.PTransform):
    def __init__(self, bucket: str) -> None:
        super().__init__()
        self.bucket = bucket

    def expand(self, pipeline):
        return (
            pipeline
            | "ListJobs" >> beam.Create(list_job_prefixes(self.bucket))
            | "Reshuffle" >> beam.Reshuffle()
            | "ReadJob" >> beam.ParDo(_ReadJob(self.bucket))
        )
