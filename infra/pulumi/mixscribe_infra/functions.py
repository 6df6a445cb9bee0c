"""Cloud Functions (gen2): on_upload, notes, webhooks, dead_letters — private, fed by the push
subscriptions of ``mixscribe.topology`` — and api, the only public entry point.

Event-driven functions take requests only from inside the project (``ALLOW_INTERNAL_ONLY``) and
only with the trigger account's OIDC tokens (its ``run.invoker`` grant; no ``allUsers``); their
timeout is the ack deadline of the subscriptions that push to them. The api function takes
traffic from anywhere and, with ``apiPublic``, lets ``allUsers`` invoke it: it authenticates every
``/v1`` call itself with ID tokens (a browser cannot obtain IAM invoker tokens). Keys are mounted
from Secret Manager as files. Sources come from ``artifacts.functions`` (what each archive holds).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from artifacts.functions import SOURCES, build_archive
from mixscribe import topology
from mixscribe.config import Settings

from .config import InfraConfig
from .identity import Accounts, why
from .secrets import LLM_KEY, WEBHOOK_KEY

LLM_KEY_MOUNT = "/secrets/llm"
WEBHOOK_KEY_MOUNT = "/secrets/webhook"
API_TIMEOUT_S = 600  # URL imports and event streams go through the instance: the timeout bounds them
FRAMEWORK_THREADS = "THREADS"  # functions-framework's gunicorn threads: one per concurrent request (a held event stream)


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    directory: str  # its source: artifacts.functions.SOURCES[directory] (entry point, signature, data files)
    account: str
    memory: str
    concurrency: int = 1

    @property
    def public(self) -> bool:
        return SOURCES[self.directory].signature_type == "http"

    @property
    def timeout_s(self) -> int:
        """Event-driven: the longest ack deadline of the subscriptions pushing to it (Pub/Sub waits that long)."""
        if self.public:
            return API_TIMEOUT_S
        return max(s.ack_deadline_s for s in topology.push_subscriptions(self.directory))


SPECS = (
    FunctionSpec("on-upload", "on_upload", "on-upload", "1Gi"),
    FunctionSpec("notes", "notes", "notes", "512Mi"),
    FunctionSpec("webhooks", "webhooks", "webhooks", "256Mi", concurrency=20),
    FunctionSpec("dead-letters", "dead_letters", "dead-letters", "256Mi"),
    # concurrency bounds memory: streamed imports, and OpenAI-route files (≤ 25 MiB each, spooled to the in-memory /tmp)
    FunctionSpec("api", "api", "api", "2Gi", concurrency=40),
)


class Functions(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: InfraConfig,
        accounts: Accounts,
        sources_bucket: pulumi.Input[str],
        settings: dict,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mixscribe:functions:Functions", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        build_dir = cfg.repo / "infra" / "pulumi" / ".build"
        self.functions: dict[str, gcp.cloudfunctionsv2.Function] = {}
        self.urls: dict[str, pulumi.Output[str]] = {}  # by source directory: where push subscriptions deliver
        for spec in SPECS:
            archive = build_archive(cfg.repo, spec.directory)
            source = gcp.storage.BucketObject(
                f"{name}-{spec.name}-source",
                bucket=sources_bucket,
                name=archive.object_name,
                source=pulumi.FileAsset(str(archive.write(build_dir))),
                opts=child,
            )
            function_env, secret_volumes = self._env_and_secrets(spec, cfg, settings)
            function = gcp.cloudfunctionsv2.Function(
                f"{name}-{spec.name}",
                name=spec.name,
                location=cfg.region,
                project=cfg.project,
                build_config=gcp.cloudfunctionsv2.FunctionBuildConfigArgs(
                    runtime="python311",
                    entry_point=SOURCES[spec.directory].entry_point,
                    source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceArgs(
                        storage_source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceStorageSourceArgs(
                            bucket=sources_bucket, object=source.name
                        )
                    ),
                ),
                service_config=gcp.cloudfunctionsv2.FunctionServiceConfigArgs(
                    available_memory=spec.memory,
                    timeout_seconds=spec.timeout_s,
                    max_instance_count=50,
                    max_instance_request_concurrency=spec.concurrency,
                    available_cpu="1" if spec.concurrency > 1 else None,
                    ingress_settings="ALLOW_ALL" if spec.public else "ALLOW_INTERNAL_ONLY",
                    all_traffic_on_latest_revision=True,
                    service_account_email=accounts.emails[spec.account],
                    environment_variables=function_env,
                    secret_volumes=secret_volumes,
                ),
                opts=child,
            )
            self.functions[spec.name] = function
            self.urls[spec.directory] = function.url
            if spec.public and not cfg.api_public:
                continue  # IAM-only API: nobody is granted the invoker role here
            grantee, member, suffix = (
                ("public", "allUsers", "public") if spec.public else ("trigger", accounts.member("trigger"), "invoker")
            )
            why(grantee, "roles/run.invoker")
            gcp.cloudrunv2.ServiceIamMember(
                f"{name}-{spec.name}-{suffix}",
                name=function.name,
                location=cfg.region,
                project=cfg.project,
                role="roles/run.invoker",
                member=member,
                opts=child,
            )
        self.register_outputs({n: f.url for n, f in self.functions.items()})

    @staticmethod
    def _env_and_secrets(spec: FunctionSpec, cfg: InfraConfig, settings: dict) -> tuple[dict[str, str], list]:
        """Each function's environment (its ``Settings``); secrets are mounted files named by ``*_file`` settings."""
        own = dict(settings)
        mounts: list[tuple[str, str]] = []
        if spec.name == "notes":
            own["llm_api_key_file"] = f"{LLM_KEY_MOUNT}/{LLM_KEY}"
            mounts.append((LLM_KEY_MOUNT, LLM_KEY))
        if spec.name == "webhooks":
            own["webhook_secret_file"] = f"{WEBHOOK_KEY_MOUNT}/{WEBHOOK_KEY}"
            mounts.append((WEBHOOK_KEY_MOUNT, WEBHOOK_KEY))
        if spec.name == "api":
            own.update(cfg.auth_settings())
            if cfg.web_origin:
                own["web_origin"] = cfg.web_origin
        volumes = [
            gcp.cloudfunctionsv2.FunctionServiceConfigSecretVolumeArgs(mount_path=path, project_id=cfg.project, secret=secret)
            for path, secret in mounts
        ]
        env = Settings(**own).to_env()
        if spec.concurrency > 1:  # functions-framework serves THREADS requests at once (default 4 per vCPU)
            env[FRAMEWORK_THREADS] = str(spec.concurrency)
        return env, volumes
