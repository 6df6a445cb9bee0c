"""Buckets: uploads (CORS for the web origin, deleted after retention), results (versioned), sources."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from .config import InfraConfig
from .identity import EDGE_PREFIX, EDGE_UPLOADER_PERMISSIONS, EDGE_UPLOADER_ROLE, Accounts, custom_role, why


def _tiering() -> list[gcp.storage.BucketLifecycleRuleArgs]:
    """Standard → Nearline after 30 days → Coldline after 90."""
    return [
        gcp.storage.BucketLifecycleRuleArgs(
            action=gcp.storage.BucketLifecycleRuleActionArgs(type="SetStorageClass", storage_class=storage_class),
            condition=gcp.storage.BucketLifecycleRuleConditionArgs(age=age, matches_storage_classes=from_classes),
        )
        for storage_class, age, from_classes in (("NEARLINE", 30, ["STANDARD"]), ("COLDLINE", 90, ["NEARLINE"]))
    ]


class Storage(pulumi.ComponentResource):
    def __init__(self, name: str, cfg: InfraConfig, accounts: Accounts, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mixscribe:storage:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        common: dict[str, Any] = {
            "location": cfg.region.upper(),
            "project": cfg.project,
            "uniform_bucket_level_access": True,
            "public_access_prevention": "enforced",
            "force_destroy": False,
        }
        cors = (
            [
                gcp.storage.BucketCorArgs(
                    origins=[cfg.web_origin],
                    methods=["GET", "PUT", "POST", "OPTIONS"],
                    response_headers=["Content-Type", "Content-Range", "Location", "Range", "x-goog-resumable", "x-goog-meta-*"],
                    max_age_seconds=3600,
                )
            ]
            if cfg.web_origin
            else []
        )
        self.uploads = gcp.storage.Bucket(
            f"{name}-uploads",
            name=cfg.uploads_bucket,
            cors=cors,
            lifecycle_rules=[
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(age=cfg.upload_retention_days),
                )
            ],
            opts=child,
            **common,
        )
        self.results = gcp.storage.Bucket(
            f"{name}-results",
            name=cfg.results_bucket,
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            lifecycle_rules=_tiering(),
            opts=child,
            **common,
        )
        self.sources = gcp.storage.Bucket(f"{name}-sources", name=cfg.sources_bucket, opts=child, **common)
        grants = [
            ("uploads", self.uploads, "on-upload", "roles/storage.objectViewer"),
            ("uploads", self.uploads, "transcribe", "roles/storage.objectViewer"),
            ("results", self.results, "transcribe", "roles/storage.objectUser"),
            ("results", self.results, "notes", "roles/storage.objectUser"),
            ("results", self.results, "dataflow", "roles/storage.objectViewer"),
            ("uploads", self.uploads, "api", "roles/storage.objectUser"),
            ("results", self.results, "api", "roles/storage.objectUser"),
        ]
        for label, bucket, account, role in grants:
            why(account, role)
            gcp.storage.BucketIAMMember(
                f"{name}-{label}-{account}-{role.split('.')[-1]}",
                bucket=bucket.name,
                role=role,
                member=accounts.member(account),
                opts=child,
            )
        self._edge_uploader(name, cfg, accounts, child)
        self.register_outputs({"uploads": self.uploads.name, "results": self.results.name, "sources": self.sources.name})

    def _edge_uploader(self, name: str, cfg: InfraConfig, accounts: Accounts, child: pulumi.ResourceOptions) -> None:
        """The edge agent may create objects under ``edge/`` and read them back (its retries do), nothing more."""
        role = gcp.projects.IAMCustomRole(
            f"{name}-edge-uploader-role",
            role_id=EDGE_UPLOADER_ROLE,
            project=cfg.project,
            title="mixscribe edge uploader",
            description="create edge segments and read back one a retried upload may already have stored",
            permissions=list(EDGE_UPLOADER_PERMISSIONS),
            opts=child,
        )
        why("edge", custom_role("{project}", EDGE_UPLOADER_ROLE))
        gcp.storage.BucketIAMMember(
            f"{name}-uploads-edge-uploader",
            bucket=self.uploads.name,
            role=role.name,
            member=accounts.member("edge"),
            condition=gcp.storage.BucketIAMMemberConditionArgs(
                title="edge segments only",
                description=f"objects under {EDGE_PREFIX}",
                expression=self.uploads.name.apply(
                    lambda bucket: f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{EDGE_PREFIX}")'
                ),
            ),
            opts=child,
        )
