"""Cloud Functions (gen2): on_upload (uploads bucket), notes (notes-requests), webhooks
(mixscribe-events), dead_letters (the requests' and notes' dead-letter topics) — private — and
api, the only public entry point.

Event-driven functions accept only Eventarc's trigger account (``ingress: ALLOW_INTERNAL_ONLY``,
no ``allUsers``). The api function takes traffic from anywhere and, with ``apiPublic``, lets
``allUsers`` invoke it: it authenticates every ``/v1`` call itself with ID tokens (a browser
cannot obtain IAM invoker tokens). Keys are mounted from Secret Manager as files.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from .archives import build_archive
from .config import InfraConfig
from .identity import Accounts, why
from .secrets import LLM_KEY, WEBHOOK_KEY

LLM_KEY_MOUNT = "/secrets/llm"
WEBHOOK_KEY_MOUNT = "/secrets/webhook"


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    directory: str
    entry_point: str
    account: str
    memory: str
    timeout_s: int
    trigger: str  # "storage", "pubsub:<topic key>" or "http"
    concurrency: int = 1


SPECS = (
    FunctionSpec("on-upload", "on_upload", "on_upload", "on-upload", "1Gi", 300, "storage"),
    FunctionSpec("notes", "notes", "on_notes_request", "notes", "512Mi", 540, "pubsub:notes"),
    FunctionSpec("webhooks", "webhooks", "on_job_event", "webhooks", "256Mi", 300, "pubsub:events", concurrency=20),
    FunctionSpec("dead-letters-requests", "dead_letters", "on_dead_letter", "dead-letters", "256Mi", 60, "pubsub:requests_dead"),
    FunctionSpec("dead-letters-notes", "dead_letters", "on_dead_letter", "dead-letters", "256Mi", 60, "pubsub:notes_dead"),
    # URL imports stream through the instance: the timeout bounds the fetch, concurrency the memory
    FunctionSpec("api", "api", "api", "api", "1Gi", 600, "http", concurrency=40),
)


class Functions(pulumi.ComponentResource):
    def __init__(self, name: str, cfg: InfraConfig, accounts: Accounts, sources_bucket: pulumi.Input[str],
                 uploads_bucket: pulumi.Input[str], topics: dict[str, pulumi.Input[str]], env: dict[str, pulumi.Input[str]],
                 storage_agent: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mixscribe:functions:Functions", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        build_dir = cfg.repo / "infra" / "pulumi" / ".build"
        # Eventarc's Cloud Storage events arrive through Pub/Sub published by the storage service agent.
        gcp.projects.IAMMember(f"{name}-storage-agent-publisher", project=cfg.project, role="roles/pubsub.publisher",
                               member=f"serviceAccount:{storage_agent}", opts=child)
        self.functions: dict[str, gcp.cloudfunctionsv2.Function] = {}
        for spec in SPECS:
            archive = build_archive(cfg.repo, spec.directory)
            source = gcp.storage.BucketObject(
                f"{name}-{spec.name}-source", bucket=sources_bucket, name=archive.object_name,
                source=pulumi.FileAsset(str(archive.write(build_dir))), opts=child,
            )
            trigger = self._trigger(spec, cfg, accounts, uploads_bucket, topics)
            function_env, secret_volumes = self._env_and_secrets(spec, cfg, env)
            function = gcp.cloudfunctionsv2.Function(
                f"{name}-{spec.name}", name=spec.name, location=cfg.region, project=cfg.project,
                build_config=gcp.cloudfunctionsv2.FunctionBuildConfigArgs(
                    runtime="python311", entry_point=spec.entry_point,
                    source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceArgs(
                        storage_source=gcp.cloudfunctionsv2.FunctionBuildConfigSourceStorageSourceArgs(
                            bucket=sources_bucket, object=source.name)),
                ),
                service_config=gcp.cloudfunctionsv2.FunctionServiceConfigArgs(
                    available_memory=spec.memory, timeout_seconds=spec.timeout_s, max_instance_count=50,
                    max_instance_request_concurrency=spec.concurrency, available_cpu="1" if spec.concurrency > 1 else None,
                    ingress_settings="ALLOW_ALL" if spec.trigger == "http" else "ALLOW_INTERNAL_ONLY",
                    all_traffic_on_latest_revision=True, service_account_email=accounts.emails[spec.account],
                    environment_variables=function_env, secret_volumes=secret_volumes,
                ),
                event_trigger=trigger, opts=child,
            )
            self.functions[spec.name] = function
            if spec.trigger == "http" and not cfg.api_public:
                continue  # IAM-only API: nobody is granted the invoker role here
            grantee, member, suffix = (("public", "allUsers", "public") if spec.trigger == "http"
                                       else ("trigger", accounts.member("trigger"), "invoker"))
            why(grantee, "roles/run.invoker")
            gcp.cloudrunv2.ServiceIamMember(
                f"{name}-{spec.name}-{suffix}", name=function.name, location=cfg.region, project=cfg.project,
                role="roles/run.invoker", member=member, opts=child,
            )
        self.register_outputs({n: f.url for n, f in self.functions.items()})

    @staticmethod
    def _env_and_secrets(spec: FunctionSpec, cfg: InfraConfig, env: dict[str, pulumi.Input[str]]) -> tuple[dict, list]:
        """Each function's environment; secrets are mounted files named by ``*_FILE`` variables."""
        function_env = dict(env)
        mounts: list[tuple[str, str]] = []
        if spec.name == "notes":
            function_env["MIXSCRIBE_LLM_API_KEY_FILE"] = f"{LLM_KEY_MOUNT}/{LLM_KEY}"
            mounts.append((LLM_KEY_MOUNT, LLM_KEY))
        if spec.name == "webhooks":
            function_env["MIXSCRIBE_WEBHOOK_SECRET_FILE"] = f"{WEBHOOK_KEY_MOUNT}/{WEBHOOK_KEY}"
            mounts.append((WEBHOOK_KEY_MOUNT, WEBHOOK_KEY))
        if spec.name == "api":
            function_env.update(cfg.auth_env())
            if cfg.web_origin:
                function_env["MIXSCRIBE_WEB_ORIGIN"] = cfg.web_origin
        volumes = [gcp.cloudfunctionsv2.FunctionServiceConfigSecretVolumeArgs(
            mount_path=path, project_id=cfg.project, secret=secret) for path, secret in mounts]
        return function_env, volumes

    @staticmethod
    def _trigger(spec: FunctionSpec, cfg: InfraConfig, accounts: Accounts, uploads_bucket: pulumi.Input[str],
                 topics: dict[str, pulumi.Input[str]]) -> gcp.cloudfunctionsv2.FunctionEventTriggerArgs | None:
        if spec.trigger == "http":
            return None
        common = {"trigger_region": cfg.region, "retry_policy": "RETRY_POLICY_RETRY",
                  "service_account_email": accounts.emails["trigger"]}
        if spec.trigger == "storage":
            return gcp.cloudfunctionsv2.FunctionEventTriggerArgs(
                event_type="google.cloud.storage.object.v1.finalized",
                event_filters=[gcp.cloudfunctionsv2.FunctionEventTriggerEventFilterArgs(attribute="bucket", value=uploads_bucket)],
                **common,
            )
        return gcp.cloudfunctionsv2.FunctionEventTriggerArgs(
            event_type="google.cloud.pubsub.topic.v1.messagePublished", pubsub_topic=topics[spec.trigger.split(":")[1]],
            **common)
