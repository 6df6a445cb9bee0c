"""The whole system for one stack: every component wired together."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from .analytics import Analytics
from .config import InfraConfig
from .database import Database
from .functions import Functions
from .identity import Identity
from .jobs import TranscriptionJobs
from .messaging import Messaging
from .observability import Observability
from .secrets import Secrets
from .storage import Storage


def build(cfg: InfraConfig) -> dict[str, pulumi.ComponentResource]:
    project_number = gcp.organizations.get_project(project_id=cfg.project).number
    storage_agent = gcp.storage.get_project_service_account(project=cfg.project).email_address
    identity = Identity("identity", cfg.project)
    accounts = identity.accounts
    storage = Storage("storage", cfg, accounts)
    database = Database("database", cfg.project, cfg.region)
    secrets = Secrets("secrets", cfg.project, accounts)
    env = {
        "GOOGLE_CLOUD_PROJECT": cfg.project,
        "MIXSCRIBE_REGION": cfg.region,
        "MIXSCRIBE_UPLOAD_BUCKET": cfg.uploads_bucket,
        "MIXSCRIBE_RESULTS_BUCKET": cfg.results_bucket,
        "MIXSCRIBE_ALLOWED_MODELS": cfg.model,
        "MIXSCRIBE_IDLE_TIMEOUT_S": "120",
        "MIXSCRIBE_DISPATCH_DEBOUNCE_S": "60",
        "MIXSCRIBE_TRACE_EXPORTER": "gcp",
        "MIXSCRIBE_METRICS_EXPORTER": "gcp",
    }
    jobs = TranscriptionJobs("jobs", cfg, accounts, env)
    function_env = {
        **env,
        "MIXSCRIBE_LAUNCHER": "cloudrun",
        "MIXSCRIBE_TRANSCRIBE_JOB": jobs.dispatch_job,
        "MIXSCRIBE_TRANSCRIBE_TASKS": str(cfg.max_tasks),
        "MIXSCRIBE_LLM_MODEL": cfg.llm_model,
        "MIXSCRIBE_LLM_BASE_URL": cfg.llm_base_url,
    }
    functions = Functions("functions", cfg, accounts, storage.sources.name, function_env,
                          opts=pulumi.ResourceOptions(depends_on=[secrets, database]))
    messaging = Messaging("messaging", cfg.project, project_number, accounts, storage.uploads.name, functions.urls,
                          storage_agent)
    analytics = Analytics("analytics", cfg.project, cfg.region, accounts)
    observability = Observability("observability", cfg.project, cfg.alert_email)
    pulumi.export("uploads_bucket", storage.uploads.name)
    pulumi.export("results_bucket", storage.results.name)
    pulumi.export("transcribe_job", jobs.dispatch_job)
    pulumi.export("service_accounts", accounts.emails)
    return {"identity": identity, "storage": storage, "messaging": messaging, "database": database,
            "secrets": secrets, "jobs": jobs, "functions": functions, "analytics": analytics,
            "observability": observability}
