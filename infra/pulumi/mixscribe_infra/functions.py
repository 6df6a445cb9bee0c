"""Cloud Functions (gen2): on_upload on the uploads bucket, notes on notes-requests. Both private.

Only Eventarc's trigger account may invoke them (``ingress: ALLOW_INTERNAL_ONLY`` and no
``allUsers``); the LLM key is mounted from Secret Manager as a file.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from .archives import build_archive
from .config import InfraConfig
from .identity import Accounts, why
from .secrets import LLM_KEY

LLM_KEY_MOUNT = "/secrets/llm"


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    directory: str
    entry_point: str
    account: str
    memory: str
    timeout_s: int


SPECS = (
    FunctionSpec("on-upload", "on_upload", "on_upload", "on-upload", "1Gi", 300),
    FunctionSpec("notes", "notes", "on_notes_request", "notes", "512Mi", 540),
)


class Functions(pulumi.ComponentResource):
    def __init__(self, name: str, cfg: InfraConfig, accounts: Accounts, sources_bucket: pulumi.Input[str],
                 uploads_bucket: pulumi.Input[str], notes_topic: pulumi.Input[str], env: dict[str, pulumi.Input[str]],
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
            trigger = self._trigger(spec, cfg, accounts, uploads_bucket, notes_topic)
            function_env = dict(env)
            secret_volumes = []
            if spec.name == "notes":
                function_env["MIXSCRIBE_LLM_API_KEY_FILE"] = f"{LLM_KEY_MOUNT}/{LLM_KEY}"
                secret_volumes = [gcp.cloudfunctionsv2.FunctionServiceConfigSecretVolumeArgs(
                    mount_path=LLM_KEY_MOUNT, project_id=cfg.project, secret=LLM_KEY)]
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
                    max_instance_request_concurrency=1, ingress_settings="ALLOW_INTERNAL_ONLY",
                    all_traffic_on_latest_revision=True, service_account_email=accounts.emails[spec.account],
                    environment_variables=function_env, secret_volumes=secret_volumes,
                ),
                event_trigger=trigger, opts=child,
            )
            self.functions[spec.name] = function
            why("trigger", "roles/run.invoker")
            gcp.cloudrunv2.ServiceIamMember(
                f"{name}-{spec.name}-invoker", name=function.name, location=cfg.region, project=cfg.project,
                role="roles/run.invoker", member=accounts.member("trigger"), opts=child,
            )
        self.register_outputs({n: f.url for n, f in self.functions.items()})

    @staticmethod
    def _trigger(spec: FunctionSpec, cfg: InfraConfig, accounts: Accounts, uploads_bucket: pulumi.Input[str],
                 notes_topic: pulumi.Input[str]) -> gcp.cloudfunctionsv2.FunctionEventTriggerArgs:
        common = {"trigger_region": cfg.region, "retry_policy": "RETRY_POLICY_RETRY",
                  "service_account_email": accounts.emails["trigger"]}
        if spec.name == "on-upload":
            return gcp.cloudfunctionsv2.FunctionEventTriggerArgs(
                event_type="google.cloud.storage.object.v1.finalized",
                event_filters=[gcp.cloudfunctionsv2.FunctionEventTriggerEventFilterArgs(attribute="bucket", value=uploads_bucket)],
                **common,
            )
        return gcp.cloudfunctionsv2.FunctionEventTriggerArgs(
            event_type="google.cloud.pubsub.topic.v1.messagePublished", pubsub_topic=notes_topic, **common)
