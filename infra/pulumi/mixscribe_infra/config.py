"""Stack configuration, read once (``Pulumi.<stack>.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class InfraConfig:
    project: str
    region: str
    uploads_bucket: str
    results_bucket: str
    sources_bucket: str
    gpu: bool = True
    model_registry: str = "cloud"  # mixscribe/registries/<name>.toml; the job images are built with the same
    upload_retention_days: int = 30
    web_origin: str = ""
    transcribe_image_tag: str = "latest"
    max_tasks: int = 10
    llm_model: str = "gpt-4o-mini"
    llm_base_url: str = "https://api.openai.com/v1"
    api_public: bool = True
    alert_email: str = ""  # SLO burn-rate and dead-letter alerts go here (none: alerts only in the console)
    auth_provider: str = "firebase"  # firebase: Firebase Auth ID tokens; google: Google Sign-In ID tokens
    auth_audience: str = ""  # firebase: the project id (default); google: the OAuth client id
    redaction_engine: str = "presidio"  # presidio (offline, in the job) or dlp (Cloud DLP: grants roles/dlp.user)
    repo: Path = REPO

    @classmethod
    def load(cls) -> InfraConfig:
        import pulumi

        gcp = pulumi.Config("gcp")
        cfg = pulumi.Config("mixscribe")
        return cls(
            project=gcp.require("project"),
            region=gcp.get("region") or "us-central1",
            uploads_bucket=cfg.require("uploadsBucket"),
            results_bucket=cfg.require("resultsBucket"),
            sources_bucket=cfg.require("sourcesBucket"),
            gpu=_flag(cfg.get_bool("gpu"), default=True),
            model_registry=cfg.get("modelRegistry") or "cloud",
            upload_retention_days=cfg.get_int("uploadRetentionDays") or 30,
            web_origin=cfg.get("webOrigin") or "",
            transcribe_image_tag=cfg.get("transcribeImageTag") or "latest",
            max_tasks=cfg.get_int("maxTasks") or 10,
            llm_model=cfg.get("llmModel") or "gpt-4o-mini",
            llm_base_url=cfg.get("llmBaseUrl") or "https://api.openai.com/v1",
            api_public=_flag(cfg.get_bool("apiPublic"), default=True),
            auth_provider=cfg.get("authProvider") or "firebase",
            auth_audience=cfg.get("authAudience") or "",
            alert_email=cfg.get("alertEmail") or "",
            redaction_engine=cfg.get("redactionEngine") or "presidio",
        )

    def auth_settings(self) -> dict[str, object]:
        """How the API verifies ID tokens for the configured provider (``mixscribe.config`` settings)."""
        if self.auth_provider == "google":
            if not self.auth_audience:
                raise ValueError("mixscribe:authAudience (the OAuth client id) is required with authProvider google")
            return {"auth_audience": self.auth_audience}  # Google Sign-In: the settings' default keys and issuers
        if self.auth_provider != "firebase":
            raise ValueError("mixscribe:authProvider must be firebase or google")
        audience = self.auth_audience or self.project
        return {
            "auth_audience": audience,
            "auth_certs_url": "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com",
            "auth_issuers": (f"https://securetoken.google.com/{audience}",),
        }

    def image(self, name: str) -> str:
        return f"{self.region}-docker.pkg.dev/{self.project}/mixscribe/{name}:{self.transcribe_image_tag}"


def _flag(value: bool | None, default: bool) -> bool:
    return default if value is None else value
