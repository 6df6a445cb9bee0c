"""Every setting of every deployable, declared once (pydantic-settings): type, default, description.

``Settings.from_env()`` is the one reader of the environment (``MIXSCRIBE_*``, plus
``GOOGLE_CLOUD_PROJECT`` and ``STORAGE_EMULATOR_HOST``); ``Settings(...)`` alone is the defaults
with what it is given. The Pulumi program and the local stack describe each deployable's
configuration as ``Settings(...)`` and hand it over with ``to_env()``, so a variable's name and
default exist only here. README's configuration table is generated from this class
(``python -m mixscribe.config``) and a test keeps them equal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from . import topology
from .model_registry import ModelRegistry, load_registry

PREFIX = "MIXSCRIBE_"
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("mixscribe_environ", default=None)
CSV = Annotated[tuple[str, ...], NoDecode]  # comma-separated in the environment


class _EnvironSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


def _field(default: Any, description: str, env: str | None = None, **kwargs: Any) -> Any:
    return Field(default, description=description, validation_alias=env, **kwargs)


class Settings(BaseSettings):
    """Every tunable of the system; defaults suit the local stack."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, frozen=True, extra="ignore", validate_by_name=True, env_ignore_empty=True
    )

    # where things are
    project: str = _field("mixscribe-local", "project", env="GOOGLE_CLOUD_PROJECT")
    region: str = _field("us-central1", "region of the Cloud Run jobs")
    upload_bucket: str = _field("mixscribe-uploads", "uploads bucket (must differ from the results bucket)")
    results_bucket: str = _field("mixscribe-results", "results bucket")
    requests_topic: str = _field(topology.REQUESTS, "work queue topics' prefix: one topic per priority (mixscribe.topology)")
    events_topic: str = _field(topology.EVENTS, "lifecycle events topic (mixscribe.topology)")
    notes_topic: str = _field(topology.NOTES, "notes requests topic (mixscribe.topology)")
    storage_emulator_host: str = _field("", "a Cloud Storage emulator (anonymous credentials)", env="STORAGE_EMULATOR_HOST")
    bigquery_emulator_host: str = _field(
        "", "a BigQuery emulator's REST endpoint, http://HOST:PORT (anonymous credentials)", env="BIGQUERY_EMULATOR_HOST"
    )
    bigquery_storage_emulator_host: str = _field(
        "", "its Storage API (gRPC, plaintext) as HOST:PORT", env="BIGQUERY_STORAGE_EMULATOR_HOST"
    )
    # uploads
    max_upload_bytes: int = _field(2 * 1024**3, "larger uploads fail file_too_large")
    max_duration_s: int = _field(4 * 3600, "longer audio fails too_long")
    job_ttl_days: int = _field(30, "expires_at of job records")
    event_max_age_s: int = _field(3 * 86400, "older storage notifications are dropped with a warning")
    # transcription
    model_registry: str = _field("local", "the models offered: local, cloud (mixscribe/registries) or a registry file's path")
    rollout_cache_s: float = _field(30.0, "how long intake keeps the rollouts document (config/rollouts) before reading it again")
    model_root: str = _field(".models", "folder of the baked models (<root>/<model>/model.bin); images: /models")
    device: str = _field("auto", "auto (CUDA when a GPU is visible, else CPU), cuda or cpu")
    compute_type: str = _field("auto", "auto (float16 on CUDA, int8 on CPU) or a CTranslate2 compute type")
    cpu_batch_size: int = _field(
        4, "CPU: speech windows faster-whisper's batched pipeline decodes at once (0: never batch)", ge=0
    )
    cpu_batch_min_s: float = _field(20.0, "CPU: files at least this long take the batched pipeline (make bench)", ge=0)
    gpu_batch_size: int = _field(16, "GPU: speech windows decoded at once (0: never batch)", ge=0)
    gpu_batch_min_s: float = _field(60.0, "GPU: files at least this long take the batched pipeline", ge=0)
    cpu_batch_requests: int = _field(
        16, "CPU: requests a task works on side by side, short files' windows decoded in shared batches (1: one at a time)", ge=1
    )
    gpu_batch_requests: int = _field(16, "GPU: requests a task works on side by side, sharing batches", ge=1)
    batch_requests_audio_s: float = _field(
        1800.0, "a task takes no more requests while those in flight hold this many audio seconds (memory)", gt=0
    )
    batch_gather_s: float = _field(0.5, "a shared batch waits at most this long for the requests taken with it", ge=0)
    cpu_threads: int = _field(0, "CPU threads per task; 0: the CPUs this task has (its cgroup quota or affinity)")
    beam_size: int = _field(5, "beam search width")
    redaction_engine: str = _field(
        "presidio", "what finds personal data for redact: presidio (offline, in the job) or dlp (Cloud DLP of the project)"
    )
    redaction_fill: str = _field("tone", "what replaces a finding in audio.redacted.*: tone (a 1 kHz bleep) or silence")
    redaction_margin_s: float = _field(0.1, "seconds of audio redacted before and after each finding's words")
    max_delivery_attempts: int = _field(5, "attempts of a job before retries_exhausted")
    shard_min_s: int = _field(600, "files at least this long, in an execution of N > 1 tasks, are split into pieces")
    shard_overlap_s: float = _field(1.0, "pieces overlap by this much at each seam")
    result_cache: bool = _field(True, "the same owner's same bytes with the same options reuse an earlier transcript")
    # dispatch and workers
    launcher: str = _field("none", "cloudrun (the Cloud Run Admin API) or none (workers started some other way)")
    run_api_endpoint: str = _field("", "Cloud Run Admin API endpoint (empty: Google's; the local stack sets its stand-in)")
    gpu_job: str = _field("transcribe-gpu", "the Cloud Run job of high and normal priority (GPU; the CPU job's name without one)")
    cpu_job: str = _field("transcribe-cpu", "the Cloud Run job of batch priority (CPU)")
    job_name: str = _field("", "set by Cloud Run: the job this task belongs to (empty: every queue)", env="CLOUD_RUN_JOB")
    transcribe_tasks: int = _field(1, "the most tasks of each job running at once (dispatches stay within it)")
    task_speed_x: float = _field(9.0, "audio seconds a GPU-class task transcribes per second (sizes dispatches)")
    cpu_task_speed_x: float = _field(9.0, "audio seconds a CPU-job task transcribes per second (sizes dispatches)")
    file_overhead_s: float = _field(1.0, "seconds one task spends per file besides the model (sizes dispatches)")
    drain_target_s: int = _field(60, "a dispatch starts enough tasks to clear the queued work within this")
    dispatch_debounce_s: int = _field(15, "a dispatch window: top-ups at once, 2 s in and at its end")
    batch_debounce_s: int = _field(25, "batch priority's dispatch window (longer: a gathered backlog runs on fewer starts)")
    idle_timeout_s: int = _field(30, "workers leave after this long idle (must exceed the debounce)")
    ack_deadline_s: int = _field(60, "a worker's message ack deadline, renewed while it works")
    lease_s: int = _field(120, "a worker's job lease, renewed while it works")
    progress_interval_s: float = _field(3.0, "a task records a job's live progress at most this often (seconds)", ge=0.5)
    task_index: int = _field(0, "set by Cloud Run: this task's index in its execution", env="CLOUD_RUN_TASK_INDEX")
    task_count: int = _field(1, "set by Cloud Run: the execution's task count", env="CLOUD_RUN_TASK_COUNT")
    task_attempt: int = _field(0, "set by Cloud Run: this task's retry number", env="CLOUD_RUN_TASK_ATTEMPT")
    execution: str = _field("local", "set by Cloud Run: the execution's name", env="CLOUD_RUN_EXECUTION")
    # HTTPS API
    auth_audience: str = _field("", "the audience ID tokens must carry (required by the API)")
    auth_certs_url: str = _field("https://www.googleapis.com/oauth2/v1/certs", "where verification keys are published")
    auth_issuers: CSV = _field(("https://accounts.google.com", "accounts.google.com"), "trusted token issuers")
    dev_token_url: str = _field("", "local stack only: the page offers Local dev sign-in against it")
    web_origin: str = _field("", "the one origin CORS answers")
    rate_per_minute: int = _field(60, "per-caller API requests per minute")
    rate_per_hour: int = _field(1000, "per-caller API requests per hour")
    max_body_bytes: int = _field(16 * 1024, "larger API request bodies answer 413")
    openai_max_file_bytes: int = _field(25 * 1024**2, "POST /v1/audio/*: the largest file (OpenAI's limit)")
    openai_wait_s: int = _field(300, "POST /v1/audio/*: how long a request waits for its job before answering 202")
    events_poll_s: float = _field(1.0, "GET /v1/jobs/{id}/events: how often a stream looks at its job", ge=0.2)
    events_max_s: int = _field(
        540, "GET /v1/jobs/{id}/events: a stream ends after this long, within the API's timeout (clients reconnect)", ge=5
    )
    signed_url_endpoint: str = _field("https://storage.googleapis.com", "where signed URLs point")
    signed_url_ttl_s: int = _field(900, "how long signed URLs work")
    signing_key_file: str = _field("", "local stack only: a key for signing URLs (the cloud signs with IAM signBlob)")
    import_buckets: CSV = _field((), "buckets besides the caller's own uploads that POST /v1/jobs may copy from")
    fetch_max_bytes: int = _field(512 * 1024**2, "URL sources: size cap")
    fetch_timeout_s: int = _field(60, "URL sources: timeout")
    allow_private_networks: CSV = _field((), "CIDRs URL sources and webhooks may reach besides public addresses")
    # webhooks
    webhook_secret: str = _field("", "webhook signing key (at least 16 characters); prefer the _FILE variant", repr=False)
    webhook_secret_file: str = _field("", "file holding the webhook signing key (a mounted secret)")
    webhook_max_attempts: int = _field(6, "webhook delivery tries")
    webhook_timeout_s: int = _field(10, "webhook request timeout")
    # notes (LLM)
    llm_base_url: str = _field("https://api.openai.com/v1", "any OpenAI-compatible server")
    llm_model: str = _field("gpt-4o-mini", "model name on that server")
    llm_api_key: str = _field("", "the key (no key: the extractive fallback); prefer the _FILE variant", repr=False)
    llm_api_key_file: str = _field("", "file holding the key (a mounted secret)")
    llm_timeout_s: float = _field(60.0, "per request")
    llm_max_retries: int = _field(3, "retries per request")
    llm_backoff_s: float = _field(1.0, "backoff base")
    llm_concurrency: int = _field(4, "concurrent map requests")
    llm_chunk_tokens: int = _field(3000, "map-reduce chunk size")
    llm_breaker_failures: int = _field(5, "consecutive failures that open the circuit")
    llm_breaker_reset_s: float = _field(30.0, "seconds before a half-open probe")
    llm_prices: str = _field("", 'JSON {"model": [input, output]} USD per 1M tokens, on top of the built-in table')
    # telemetry
    log_level: str = _field("INFO", "every component logs one JSON line per record")
    trace_exporter: str = _field("none", "gcp (Cloud Trace), file (MIXSCRIBE_TELEMETRY_DIR/traces), console or none")
    trace_sample_ratio: float = _field(1.0, "share of new traces sampled")
    metrics_exporter: str = _field("none", "gcp (Cloud Monitoring), otlp (to MIXSCRIBE_OTLP_ENDPOINT) or none")
    otlp_endpoint: str = _field("", "OTLP/gRPC collector for the otlp exporter")
    metrics_interval_s: float = _field(5.0, "metrics export period")
    telemetry_dir: str = _field(".local/telemetry", "where the file exporter writes")

    @field_validator("auth_issuers", "import_buckets", "allow_private_networks", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        """Refuse settings that cannot work, with a message naming the variable."""
        try:
            load_registry(self.model_registry)
        except ValueError as err:  # RegistryError
            raise ValueError(f"MIXSCRIBE_MODEL_REGISTRY: {err}") from err
        if self.launcher not in ("none", "cloudrun"):
            raise ValueError("MIXSCRIBE_LAUNCHER must be cloudrun or none")
        if max(self.dispatch_debounce_s, self.batch_debounce_s) >= self.idle_timeout_s:
            raise ValueError(
                "MIXSCRIBE_DISPATCH_DEBOUNCE_S and MIXSCRIBE_BATCH_DEBOUNCE_S must be below MIXSCRIBE_IDLE_TIMEOUT_S, "
                "or a request could arrive after the last worker left"
            )
        if self.redaction_engine not in ("presidio", "dlp") or self.redaction_fill not in ("tone", "silence"):
            raise ValueError("MIXSCRIBE_REDACTION_ENGINE must be presidio or dlp, MIXSCRIBE_REDACTION_FILL tone or silence")
        if not 0 <= self.redaction_margin_s <= 2:
            raise ValueError("MIXSCRIBE_REDACTION_MARGIN_S must be between 0 and 2 seconds")
        if self.cpu_threads < 0:
            raise ValueError("MIXSCRIBE_CPU_THREADS must be 0 (the task's CPUs) or more")
        if self.transcribe_tasks < 1 or min(self.task_speed_x, self.cpu_task_speed_x) <= 0 or self.drain_target_s < 1:
            raise ValueError("MIXSCRIBE_TRANSCRIBE_TASKS, MIXSCRIBE_TASK_SPEED_X and MIXSCRIBE_DRAIN_TARGET_S must be positive")
        if self.rate_per_minute < 1 or self.rate_per_hour < self.rate_per_minute:
            raise ValueError("MIXSCRIBE_RATE_PER_MINUTE must be ≥ 1 and ≤ MIXSCRIBE_RATE_PER_HOUR")
        if self.upload_bucket == self.results_bucket:
            raise ValueError("uploads and results must be separate buckets (results would retrigger)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _ENVIRON.get()
        if environ is None:
            return (init_settings,)  # Settings(...): defaults and what it is given, never the environment
        return (init_settings, _EnvironSource(settings_cls, environ))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``environ`` (default: the process environment); ``overrides`` win."""
        token = _ENVIRON.set(dict(os.environ if environ is None else environ))
        try:
            return cls(**overrides)
        except ValidationError as exc:  # name the variables; never echo the values (they may be secrets)
            problems = "; ".join(
                (f"{cls.variable(str(e['loc'][0]))}: " if e["loc"] and e["loc"][0] in cls.model_fields else "")
                + e["msg"].removeprefix("Value error, ")
                for e in exc.errors()
            )
            raise ValueError(f"invalid configuration: {problems}") from None
        finally:
            _ENVIRON.reset(token)

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable of ``field``."""
        alias = cls.model_fields[field].validation_alias
        return alias if isinstance(alias, str) else PREFIX + field.upper()

    @staticmethod
    def _text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, tuple):
            return ",".join(value)
        return str(value)

    def to_env(self, everything: bool = False) -> dict[str, str]:
        """The environment that reproduces these settings: the fields set explicitly (or ``everything``)."""
        names = type(self).model_fields if everything else sorted(self.model_fields_set)
        return {self.variable(name): self._text(getattr(self, name)) for name in names}

    def topic_path(self, topic: str) -> str:
        return f"projects/{self.project}/topics/{topic}"

    def request_topic(self, priority: str) -> str:
        """The full path of ``priority``'s transcription request topic."""
        return self.topic_path(topology.work_queue(priority).topic(self.requests_topic))

    def models(self) -> ModelRegistry:
        """The registry of the models this deployment offers (read once per process)."""
        return load_registry(self.model_registry)

    def job_class(self) -> str | None:
        """The class of job this task belongs to (None outside a named job: it serves every queue)."""
        if not self.job_name or self.gpu_job == self.cpu_job:
            return None
        return topology.GPU if self.job_name == self.gpu_job else topology.CPU

    def job_for(self, queue: topology.WorkQueue) -> str:
        """The Cloud Run job that pulls ``queue``."""
        return self.gpu_job if queue.job_class == topology.GPU else self.cpu_job

    def queues_of_this_job(self) -> tuple[topology.WorkQueue, ...]:
        """The queues this task pulls, most urgent first (every queue when it runs outside a named job)."""
        return tuple(q for q in topology.WORK_QUEUES if not self.job_name or self.job_for(q) == self.job_name)

    def subscription_path(self, subscription: str) -> str:
        return f"projects/{self.project}/subscriptions/{subscription}"

    def llm_price_table(self) -> dict[str, tuple[float, float]]:
        """Overrides of the LLM price table from ``MIXSCRIBE_LLM_PRICES``."""
        if not self.llm_prices:
            return {}
        return {k: (float(v[0]), float(v[1])) for k, v in json.loads(self.llm_prices).items()}


def markdown_table() -> str:
    """README's configuration table, one row per setting."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, info in Settings.model_fields.items():
        default = Settings._text(info.default)
        rows.append(f"| `{Settings.variable(name)}` | {f'`{default}`' if default else '(empty)'} | {info.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
