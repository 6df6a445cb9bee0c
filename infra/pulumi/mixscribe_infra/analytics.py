"""The analytics warehouse and what the Dataflow job needs: the BigQuery dataset with its tables and views
(mixscribe.warehouse, the declarations the pipeline's sink and the local stack use), the staging bucket,
and the ``dataflow`` account's grants on each, its image repository and (messaging.py) its subscription.

The Dataflow streaming job itself is launched from its Flex Template (README: Deploying), as that account.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_gcp as gcp

from mixscribe.warehouse import DATASET, TABLES, VIEWS

from .identity import Accounts, why

STAGING_TEMP_DAYS = 7  # Dataflow's temp and staging files; templates/ (the template spec) is kept


def staging_bucket_name(project: str) -> str:
    return f"{project}-mixscribe-dataflow"


class Analytics(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        project: str,
        region: str,
        accounts: Accounts,
        registry: gcp.artifactregistry.Repository,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mixscribe:analytics:Analytics", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.dataset = gcp.bigquery.Dataset(
            f"{name}-dataset",
            dataset_id=DATASET,
            project=project,
            location=region,
            description="mixscribe job and audio analytics",
            opts=child,
        )
        self.tables = {
            table.name: gcp.bigquery.Table(
                f"{name}-{table.name}",
                dataset_id=self.dataset.dataset_id,
                table_id=table.name,
                project=project,
                description=table.description,
                schema=json.dumps(table.bigquery_schema()),
                time_partitioning=gcp.bigquery.TableTimePartitioningArgs(type="DAY", field=table.partition_field),
                clusterings=list(table.clustering),
                deletion_protection=True,
                opts=child,
            )
            for table in TABLES
        }
        # every query and the report read these: the tables are append-only (one row per change or pane)
        self.views = {
            view.name: gcp.bigquery.Table(
                f"{name}-{view.name}",
                dataset_id=self.dataset.dataset_id,
                table_id=view.name,
                project=project,
                description=view.description,
                view=gcp.bigquery.TableViewArgs(query=view.sql, use_legacy_sql=False),
                deletion_protection=False,
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.tables.values())),
            )
            for view in VIEWS
        }
        why("dataflow", "roles/bigquery.dataEditor")
        gcp.bigquery.DatasetIamMember(
            f"{name}-dataflow-editor",
            dataset_id=self.dataset.dataset_id,
            project=project,
            role="roles/bigquery.dataEditor",
            member=accounts.member("dataflow"),
            opts=child,
        )
        self.staging = gcp.storage.Bucket(
            f"{name}-staging",
            name=staging_bucket_name(project),
            project=project,
            location=region,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            force_destroy=False,
            lifecycle_rules=[
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                        age=STAGING_TEMP_DAYS, matches_prefixes=["temp/", "staging/"]
                    ),
                )
            ],
            opts=child,
        )
        why("dataflow", "roles/storage.objectAdmin")
        gcp.storage.BucketIAMMember(
            f"{name}-dataflow-staging",
            bucket=self.staging.name,
            role="roles/storage.objectAdmin",
            member=accounts.member("dataflow"),
            opts=child,
        )
        why("dataflow", "roles/artifactregistry.reader")
        gcp.artifactregistry.RepositoryIamMember(
            f"{name}-dataflow-image",
            repository=registry.name,
            location=registry.location,
            project=project,
            role="roles/artifactregistry.reader",
            member=accounts.member("dataflow"),
            opts=child,
        )
        self.register_outputs({"dataset": self.dataset.dataset_id, "staging_bucket": self.staging.name})
