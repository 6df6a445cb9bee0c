"""Configuration read once from the environment into an immutable dataclass.

Every deployable calls ``Settings.from_env()``; README's configuration table lists each variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import topology


def _int(env: dict[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{key} must be an integer, got {raw!r}") from exc


def _list(env: dict[str, str], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(key)
    if not raw:
        return default
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Every tunable of the system; defaults suit the local stack."""

    project: str = "mixscribe-local"
    region: str = "us-central1"
    upload_bucket: str = "mixscribe-uploads"
    results_bucket: str = "mixscribe-results"
    requests_topic: str = topology.REQUESTS
    requests_subscription: str = topology.REQUESTS_SUBSCRIPTION
    events_topic: str = topology.EVENTS
    notes_topic: str = topology.NOTES
    max_upload_bytes: int = 2 * 1024**3
    max_duration_s: int = 4 * 3600
    job_ttl_days: int = 30
    event_max_age_s: int = 3 * 86400
    allowed_models: tuple[str, ...] = ("tiny.en",)
    default_model: str = "tiny.en"
    model_root: str = ""
    device: str = "auto"
    compute_type: str = "auto"
    beam_size: int = 5
    launcher: str = "none"
    local_run_api: str = ""
    transcribe_job: str = "transcribe"
    transcribe_tasks: int = 1
    dispatch_debounce_s: int = 15
    idle_timeout_s: int = 30
    ack_deadline_s: int = 60
    lease_s: int = 120
    # HTTPS API
    auth_audience: str = ""
    auth_certs_url: str = "https://www.googleapis.com/oauth2/v1/certs"
    auth_issuers: tuple[str, ...] = ("https://accounts.google.com", "accounts.google.com")
    dev_token_url: str = ""
    web_origin: str = ""
    rate_per_minute: int = 60
    rate_per_hour: int = 1000
    max_body_bytes: int = 16 * 1024
    signed_url_endpoint: str = "https://storage.googleapis.com"
    signed_url_ttl_s: int = 900
    signing_key_file: str = ""
    import_buckets: tuple[str, ...] = ()
    fetch_max_bytes: int = 512 * 1024**2
    fetch_timeout_s: int = 60
    allow_private_networks: tuple[str, ...] = ()
    webhook_max_attempts: int = 6
    webhook_timeout_s: int = 10
    shard_min_s: int = 600
    shard_overlap_s: float = 1.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Build settings from ``environ`` (default: the process environment)."""
        env = dict(os.environ if environ is None else environ)
        models = _list(env, "MIXSCRIBE_ALLOWED_MODELS", cls.allowed_models)
        settings = cls(
            project=env.get("GOOGLE_CLOUD_PROJECT", cls.project),
            region=env.get("MIXSCRIBE_REGION", cls.region),
            upload_bucket=env.get("MIXSCRIBE_UPLOAD_BUCKET", cls.upload_bucket),
            results_bucket=env.get("MIXSCRIBE_RESULTS_BUCKET", cls.results_bucket),
            requests_topic=env.get("MIXSCRIBE_REQUESTS_TOPIC", cls.requests_topic),
            requests_subscription=env.get(
                "MIXSCRIBE_REQUESTS_SUBSCRIPTION", cls.requests_subscription
            ),
            events_topic=env.get("MIXSCRIBE_EVENTS_TOPIC", cls.events_topic),
            notes_topic=env.get("MIXSCRIBE_NOTES_TOPIC", cls.notes_topic),
            max_upload_bytes=_int(env, "MIXSCRIBE_MAX_UPLOAD_BYTES", cls.max_upload_bytes),
            max_duration_s=_int(env, "MIXSCRIBE_MAX_DURATION_S", cls.max_duration_s),
            job_ttl_days=_int(env, "MIXSCRIBE_JOB_TTL_DAYS", cls.job_ttl_days),
            event_max_age_s=_int(env, "MIXSCRIBE_EVENT_MAX_AGE_S", cls.event_max_age_s),
            allowed_models=models,
            default_model=env.get("MIXSCRIBE_DEFAULT_MODEL", models[0]),
            model_root=env.get("MIXSCRIBE_MODEL_ROOT", cls.model_root),
            device=env.get("MIXSCRIBE_DEVICE", cls.device),
            compute_type=env.get("MIXSCRIBE_COMPUTE_TYPE", cls.compute_type),
            beam_size=_int(env, "MIXSCRIBE_BEAM_SIZE", cls.beam_size),
            launcher=env.get("MIXSCRIBE_LAUNCHER", cls.launcher),
            local_run_api=env.get("MIXSCRIBE_LOCAL_RUN_API", cls.local_run_api),
            transcribe_job=env.get("MIXSCRIBE_TRANSCRIBE_JOB", cls.transcribe_job),
            transcribe_tasks=_int(env, "MIXSCRIBE_TRANSCRIBE_TASKS", cls.transcribe_tasks),
            dispatch_debounce_s=_int(env, "MIXSCRIBE_DISPATCH_DEBOUNCE_S", cls.dispatch_debounce_s),
            idle_timeout_s=_int(env, "MIXSCRIBE_IDLE_TIMEOUT_S", cls.idle_timeout_s),
            ack_deadline_s=_int(env, "MIXSCRIBE_ACK_DEADLINE_S", cls.ack_deadline_s),
            lease_s=_int(env, "MIXSCRIBE_LEASE_S", cls.lease_s),
            auth_audience=env.get("MIXSCRIBE_AUTH_AUDIENCE", cls.auth_audience),
            auth_certs_url=env.get("MIXSCRIBE_AUTH_CERTS_URL", cls.auth_certs_url),
            auth_issuers=_list(env, "MIXSCRIBE_AUTH_ISSUERS", cls.auth_issuers),
            dev_token_url=env.get("MIXSCRIBE_DEV_TOKEN_URL", cls.dev_token_url),
            web_origin=env.get("MIXSCRIBE_WEB_ORIGIN", cls.web_origin),
            rate_per_minute=_int(env, "MIXSCRIBE_RATE_PER_MINUTE", cls.rate_per_minute),
            rate_per_hour=_int(env, "MIXSCRIBE_RATE_PER_HOUR", cls.rate_per_hour),
            max_body_bytes=_int(env, "MIXSCRIBE_MAX_BODY_BYTES", cls.max_body_bytes),
            signed_url_endpoint=env.get("MIXSCRIBE_SIGNED_URL_ENDPOINT", cls.signed_url_endpoint),
            signed_url_ttl_s=_int(env, "MIXSCRIBE_SIGNED_URL_TTL_S", cls.signed_url_ttl_s),
            signing_key_file=env.get("MIXSCRIBE_SIGNING_KEY_FILE", cls.signing_key_file),
            import_buckets=_list(env, "MIXSCRIBE_IMPORT_BUCKETS", cls.import_buckets),
            fetch_max_bytes=_int(env, "MIXSCRIBE_FETCH_MAX_BYTES", cls.fetch_max_bytes),
            fetch_timeout_s=_int(env, "MIXSCRIBE_FETCH_TIMEOUT_S", cls.fetch_timeout_s),
            allow_private_networks=_list(env, "MIXSCRIBE_ALLOW_PRIVATE_NETWORKS", cls.allow_private_networks),
            webhook_max_attempts=_int(env, "MIXSCRIBE_WEBHOOK_MAX_ATTEMPTS", cls.webhook_max_attempts),
            webhook_timeout_s=_int(env, "MIXSCRIBE_WEBHOOK_TIMEOUT_S", cls.webhook_timeout_s),
            shard_min_s=_int(env, "MIXSCRIBE_SHARD_MIN_S", cls.shard_min_s),
            shard_overlap_s=float(env.get("MIXSCRIBE_SHARD_OVERLAP_S") or cls.shard_overlap_s),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse settings that cannot work, with a message naming the variable."""
        if self.default_model not in self.allowed_models:
            raise ValueError("MIXSCRIBE_DEFAULT_MODEL must be one of MIXSCRIBE_ALLOWED_MODELS")
        if self.launcher not in ("none", "local", "cloudrun"):
            raise ValueError("MIXSCRIBE_LAUNCHER must be none, local or cloudrun")
        if self.launcher == "local" and not self.local_run_api:
            raise ValueError("MIXSCRIBE_LAUNCHER=local needs MIXSCRIBE_LOCAL_RUN_API")
        if self.dispatch_debounce_s >= self.idle_timeout_s:
            raise ValueError(
                "MIXSCRIBE_DISPATCH_DEBOUNCE_S must be below MIXSCRIBE_IDLE_TIMEOUT_S, "
                "or a request could arrive after the last worker left"
            )
        if self.rate_per_minute < 1 or self.rate_per_hour < self.rate_per_minute:
            raise ValueError("MIXSCRIBE_RATE_PER_MINUTE must be ≥ 1 and ≤ MIXSCRIBE_RATE_PER_HOUR")
        if self.upload_bucket == self.results_bucket:
            raise ValueError("uploads and results must be separate buckets (results would retrigger)")

    def topic_path(self, topic: str) -> str:
        return f"projects/{self.project}/topics/{topic}"

    def subscription_path(self, subscription: str) -> str:
        return f"projects/{self.project}/subscriptions/{subscription}"
