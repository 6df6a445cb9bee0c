"""The analytics warehouse, declared once: BigQuery tables and views, read by the Pulumi program, the
local stack (which creates them in its BigQuery emulator), the pipeline's sink and the queries.

Tables are append-only, as the sink writes them in BigQuery (one row per state change or pane, and a
retried write may append a copy); every query reads the views, which pick the current row per key.
Each view is BigQuery SQL in ``warehouse_views/<name>.sql``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATASET = "mixscribe"
VIEWS_DIR = Path(__file__).resolve().parent / "warehouse_views"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # STRING, INT64, FLOAT64, BOOL, TIMESTAMP, JSON
    mode: str = "NULLABLE"
    description: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    partition_field: str
    clustering: tuple[str, ...]

    def bigquery_schema(self) -> list[dict[str, str]]:
        return [{"name": c.name, "type": c.type, "mode": c.mode, "description": c.description} for c in self.columns]


def _c(name: str, type_: str, description: str, required: bool = False) -> Column:
    return Column(name, type_, "REQUIRED" if required else "NULLABLE", description)


EVENTS = Table(
    name="events",
    description="Every lifecycle event as published on mixscribe-events (read events_unique: one copy per event_id).",
    columns=(
        _c("event_id", "STRING", "UUIDv5 of (type, job, discriminator); unique", True),
        _c("type", "STRING", "event type, e.g. job.queued", True),
        _c("job_id", "STRING", "job the event is about"),
        _c("occurred_at", "TIMESTAMP", "when it happened (event time)", True),
        _c("source", "STRING", "component that emitted it"),
        _c("schema_version", "INT64", "event schema version"),
        _c("attributes", "JSON", "type-specific attributes"),
        _c("ingested_at", "TIMESTAMP", "when the pipeline wrote it"),
    ),
    partition_field="occurred_at",
    clustering=("type", "job_id"),
)

JOBS = Table(
    name="jobs",
    description="A row per state change of a job: its state so far, stage durations, audio metrics and cost (read jobs_current).",
    columns=(
        _c("job_id", "STRING", "deterministic job id", True),
        _c("owner", "STRING", "uid, edge:<device> or anonymous"),
        _c("status", "STRING", "latest status"),
        _c("error_code", "STRING", "stable error code when failed"),
        _c("model", "STRING", "speech model"),
        _c("language", "STRING", "detected or requested language"),
        _c("priority", "STRING", "high, normal or batch"),
        _c("created_at", "TIMESTAMP", "job.queued or upload.rejected time", True),
        _c("started_at", "TIMESTAMP", "first job.started"),
        _c("transcribed_at", "TIMESTAMP", "job.transcribed"),
        _c("completed_at", "TIMESTAMP", "job.completed or job.failed"),
        _c("queue_s", "FLOAT64", "created → started"),
        _c("transcribe_s", "FLOAT64", "started → transcribed"),
        _c("notes_s", "FLOAT64", "transcribed → completed"),
        _c("total_s", "FLOAT64", "created → completed"),
        _c("audio_duration_s", "FLOAT64", "decoded audio length"),
        _c("speech_ratio", "FLOAT64", "speech seconds / audio seconds (VAD)"),
        _c("loudness_lufs", "FLOAT64", "integrated loudness"),
        _c("clipping_ratio", "FLOAT64", "share of clipped samples"),
        _c("real_time_factor", "FLOAT64", "transcription seconds / audio seconds"),
        _c("word_count", "INT64", "words in the transcript"),
        _c("notes_generator", "STRING", "llm or extractive-fallback"),
        _c("llm_prompt_tokens", "INT64", "prompt tokens"),
        _c("llm_completion_tokens", "INT64", "completion tokens"),
        _c("llm_cost_usd", "FLOAT64", "estimated LLM cost"),
        _c("attempts", "INT64", "transcription attempts"),
        _c("updated_at", "TIMESTAMP", "last event applied", True),
        # added with rollouts and the result cache: nullable, appended (a BigQuery schema may only grow so)
        _c("arm", "STRING", "<rollout>:<treatment|control> when a rollout placed the job"),
        _c("cache_hit", "BOOL", "the transcript of an earlier job (same owner, bytes, options) was reused"),
        _c("avg_logprob", "FLOAT64", "the segments' length-weighted mean log-probability"),
        _c("hallucination_share", "FLOAT64", "share of segments flagged or dropped as likely hallucination"),
        # added with diarization (every share is in the job.transcribed event's attributes.speaker_shares)
        _c("speaker_count", "INT64", "speakers in the transcript (diarized, or the mixer's channels)"),
        _c("top_speaker_share", "FLOAT64", "the most talkative speaker's share of the talk time"),
    ),
    partition_field="created_at",
    clustering=("status", "owner"),
)

HOURLY = Table(
    name="job_stats_hourly",
    description="Event-time hourly aggregates per owner and per edge device, a row per pane (read job_stats_hourly_current).",
    columns=(
        _c("window_start", "TIMESTAMP", "hour start", True),
        _c("window_end", "TIMESTAMP", "hour end", True),
        _c("dimension", "STRING", "owner or device", True),
        _c("key", "STRING", "the owner or device", True),
        _c("jobs", "INT64", "jobs finished in the hour"),
        _c("failed", "INT64", "of which failed"),
        _c("failure_rate", "FLOAT64", "failed / jobs"),
        _c("audio_hours", "FLOAT64", "audio transcribed"),
        _c("latency_p50_s", "FLOAT64", "median created → completed"),
        _c("latency_p95_s", "FLOAT64", "95th percentile created → completed"),
        _c("real_time_factor_mean", "FLOAT64", "mean real-time factor"),
        _c("loudness_mean_lufs", "FLOAT64", "mean integrated loudness"),
        _c("clipping_mean", "FLOAT64", "mean clipping ratio"),
        _c("updated_at", "TIMESTAMP", "when the pane fired", True),
    ),
    partition_field="window_start",
    clustering=("dimension", "key"),
)

DEAD_LETTERS = Table(
    name="dead_letters",
    description="Messages on the events subscription that are not valid lifecycle events, for an operator to read.",
    columns=(
        _c("received_at", "TIMESTAMP", "when the pipeline read it", True),
        _c("error", "STRING", "why it was refused", True),
        _c("payload", "STRING", "the message as received (UTF-8, first 10,000 characters)"),
    ),
    partition_field="received_at",
    clustering=("error",),
)

TABLES: tuple[Table, ...] = (EVENTS, JOBS, HOURLY, DEAD_LETTERS)


@dataclass(frozen=True)
class View:
    name: str
    description: str

    @property
    def sql(self) -> str:
        """The view's query, BigQuery SQL naming tables as ``mixscribe.<table>``."""
        return (VIEWS_DIR / f"{self.name}.sql").read_text()


JOBS_CURRENT = View("jobs_current", "One row per job: its current state (the latest stage, every column's latest value).")
HOURLY_CURRENT = View("job_stats_hourly_current", "One row per hour and owner or device: the latest pane.")
EVENTS_UNIQUE = View("events_unique", "Each lifecycle event once, whatever the sink appended twice.")
VIEWS: tuple[View, ...] = (JOBS_CURRENT, HOURLY_CURRENT, EVENTS_UNIQUE)
