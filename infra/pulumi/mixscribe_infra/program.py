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
    identity = Identity("identity", cfg.project, dlp=cfg.redaction_engine == "dlp")
    accounts = identity.accounts
    storage = Storage("storage", cfg, accounts)
    database = Database("database", cfg.project, cfg.region)
    secrets = Secrets("secrets", cfg.project, accounts)
    # what every deployable shares, as mixscribe.config settings (each becomes its environment with to_env)
    shared = {
        "project": cfg.project,
        "region": cfg.region,
        "upload_bucket": cfg.uploads_bucket,
        "results_bucket": cfg.results_bucket,
        "model_registry": cfg.model_registry,  # the models offered: intake, the API and the jobs read one registry
        "idle_timeout_s": 120,
        "dispatch_debounce_s": 60,
        "trace_exporter": "gcp",
        "metrics_exporter": "gcp",
        "redaction_engine": cfg.redaction_engine,  # the jobs redact; Settings refuses an unknown engine
    }
    jobs = TranscriptionJobs("jobs", cfg, accounts, shared)
    function_settings = {
        **shared,
        "launcher": "cloudrun",
        **jobs.routing,
        "transcribe_tasks": cfg.max_tasks,
        "drain_target_s": 120,
        "llm_model": cfg.llm_model,
        "llm_base_url": cfg.llm_base_url,
    }
    functions = Functions(
        "functions",
        cfg,
        accounts,
        storage.sources.name,
        function_settings,
        opts=pulumi.ResourceOptions(depends_on=[secrets, database]),
    )
    messaging = Messaging("messaging", cfg.project, project_number, accounts, storage.uploads.name, functions.urls, storage_agent)
    analytics = Analytics("analytics", cfg.project, cfg.region, accounts, jobs.registry)
    observability = Observability("observability", cfg.project, cfg.alert_email)
    pulumi.export("uploads_bucket", storage.uploads.name)
    pulumi.export("results_bucket", storage.results.name)
    pulumi.export("transcribe_jobs", {"gpu_job": jobs.routing["gpu_job"], "cpu_job": jobs.routing["cpu_job"]})
    pulumi.export("service_accounts", accounts.emails)
    pulumi.export("dataflow_staging_bucket", analytics.staging.name)
    return {
        "identity": identity,
        "storage": storage,
        "messaging": messaging,
        "database": database,
        "secrets": secrets,
        "jobs": jobs,
        "functions": functions,
        "analytics": analytics,
        "observability": observability,
    }
