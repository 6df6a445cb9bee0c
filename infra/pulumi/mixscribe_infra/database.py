"""Firestore (native mode): TTL policies and the composite indexes the API's queries need."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

# (fields in order) for queries on jobs: list a caller's jobs newest first, optionally by status.
JOB_INDEXES = (
    (("owner", "ASCENDING"), ("created_at", "DESCENDING"), ("job_id", "DESCENDING")),
    (("owner", "ASCENDING"), ("status", "ASCENDING"), ("created_at", "DESCENDING"), ("job_id", "DESCENDING")),
)
# collection → TTL field: job records, the API's rate-limit buckets, deletion tombstones and the job ids
# the API handed out before their jobs were recorded expire.
TTL_FIELDS = {"jobs": "expires_at", "ratelimits": "expires_at", "deletions": "expires_at", "promised": "expires_at"}


class Database(pulumi.ComponentResource):
    def __init__(self, name: str, project: str, region: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mixscribe:database:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.database = gcp.firestore.Database(
            f"{name}-default",
            name="(default)",
            project=project,
            location_id=region,
            type="FIRESTORE_NATIVE",
            concurrency_mode="OPTIMISTIC",
            delete_protection_state="DELETE_PROTECTION_ENABLED",
            opts=child,
        )
        after_db = pulumi.ResourceOptions(parent=self, depends_on=[self.database])
        for collection, field in TTL_FIELDS.items():
            gcp.firestore.Field(
                f"{name}-{collection}-ttl",
                project=project,
                database=self.database.name,
                collection=collection,
                field=field,
                ttl_config=gcp.firestore.FieldTtlConfigArgs(),
                opts=after_db,
            )
        for i, fields in enumerate(JOB_INDEXES):
            gcp.firestore.Index(
                f"{name}-jobs-index-{i}",
                project=project,
                database=self.database.name,
                collection="jobs",
                fields=[gcp.firestore.IndexFieldArgs(field_path=f, order=o) for f, o in fields],
                opts=after_db,
            )
        self.register_outputs({"database": self.database.name})
