"""BigQuery dataset and tables, from the schemas the analytics pipeline writes (mixscribe.warehouse).

The Dataflow streaming job itself is launched from its Flex Template (README: Deploying), with the
``dataflow`` service account this program creates.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_gcp as gcp

from mixscribe.warehouse import TABLES

from .identity import Accounts, why

DATASET = "mixscribe"


class Analytics(pulumi.ComponentResource):
    def __init__(
        self, name: str, project: str, region: str, accounts: Accounts, opts: pulumi.ResourceOptions | None = None
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
        why("dataflow", "roles/bigquery.dataEditor")
        gcp.bigquery.DatasetIamMember(
            f"{name}-dataflow-editor",
            dataset_id=self.dataset.dataset_id,
            project=project,
            role="roles/bigquery.dataEditor",
            member=accounts.member("dataflow"),
            opts=child,
        )
        self.register_outputs({"dataset": self.dataset.dataset_id})
