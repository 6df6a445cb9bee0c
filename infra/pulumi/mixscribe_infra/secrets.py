"""Secret Manager secrets; values are added out of band (``gcloud secrets versions add``), never in code."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from .identity import Accounts, why

LLM_KEY = "llm-api-key"
WEBHOOK_KEY = "webhook-signing-key"


class Secrets(pulumi.ComponentResource):
    def __init__(self, name: str, project: str, accounts: Accounts, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mixscribe:secrets:Secrets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.secrets = {
            secret_id: gcp.secretmanager.Secret(
                f"{name}-{secret_id}",
                secret_id=secret_id,
                project=project,
                replication=gcp.secretmanager.SecretReplicationArgs(auto=gcp.secretmanager.SecretReplicationAutoArgs()),
                opts=child,
            )
            for secret_id in (LLM_KEY, WEBHOOK_KEY)
        }
        why("notes", "roles/secretmanager.secretAccessor")
        gcp.secretmanager.SecretIamMember(
            f"{name}-{LLM_KEY}-notes",
            secret_id=self.secrets[LLM_KEY].id,
            project=project,
            role="roles/secretmanager.secretAccessor",
            member=accounts.member("notes"),
            opts=child,
        )
        why("webhooks", "roles/secretmanager.secretAccessor")
        gcp.secretmanager.SecretIamMember(
            f"{name}-{WEBHOOK_KEY}-webhooks",
            secret_id=self.secrets[WEBHOOK_KEY].id,
            project=project,
            role="roles/secretmanager.secretAccessor",
            member=accounts.member("webhooks"),
            opts=child,
        )
        self.register_outputs({k: s.id for k, s in self.secrets.items()})
