"""One service account per component, and the written-down reason for every role it gets.

Roles are granted on the narrowest resource that takes IAM (a bucket, topic, subscription,
secret, job, service account); only Firestore access (``roles/datastore.user``), Dataflow's worker
role, the write-only telemetry roles and Cloud DLP's user role (a stack with ``redactionEngine: dlp``)
are project-level, because those have no finer IAM resource. No account is editor or owner.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

ACCOUNTS = {
    "on-upload": "functions/on_upload: validates uploads and queues jobs",
    "notes": "functions/notes: writes notes with the LLM or the fallback",
    "api": "functions/api: the public HTTPS API and web page",
    "webhooks": "functions/webhooks: delivers signed job webhooks",
    "dead-letters": "functions/dead_letters: fails the jobs of dead-lettered requests",
    "transcribe": "jobs/transcribe: the Cloud Run job tasks",
    "trigger": "Pub/Sub push subscriptions: identity whose OIDC tokens invoke the event-driven functions",
    "dataflow": "beam_pipelines/analytics: the Dataflow workers",
    "edge": "edge_agent: uploads the mixer's segments and publishes its events (a key on the edge computer)",
}
# What the edge agent's uploader calls: resumable uploads with if_generation_match=0 (objects.create) and,
# before a retry or after a 412, a metadata read of the object it may already have stored (objects.get).
EDGE_UPLOADER_ROLE = "mixscribeEdgeUploader"
EDGE_UPLOADER_PERMISSIONS = ("storage.objects.create", "storage.objects.get")
EDGE_PREFIX = "edge/"  # the only part of the uploads bucket the edge account may touch

# (account, role, resource kind) → why. The policy tests check every grant against this table.
TELEMETRY_ACCOUNTS = ("on-upload", "transcribe", "notes", "api", "webhooks", "dead-letters")
ROLE_RATIONALE: dict[tuple[str, str], str] = {
    ("on-upload", "roles/storage.objectViewer"): "uploads bucket: read the object's first bytes to probe it",
    ("on-upload", "roles/datastore.user"): "project: create and update jobs/{id} (Firestore has no per-collection IAM)",
    ("on-upload", "roles/pubsub.publisher"): "transcribe-requests and mixscribe-events topics: queue work, emit events",
    ("on-upload", "roles/run.jobsExecutorWithOverrides"): "transcribe jobs: start an execution with a task-count override",
    ("on-upload", "roles/run.viewer"): "transcribe jobs: list executions to count the tasks still running (dispatch sizing)",
    ("transcribe", "roles/storage.objectViewer"): "uploads bucket: download the audio",
    ("transcribe", "roles/storage.objectUser"): "results bucket: write (and overwrite on retry) transcripts and metrics",
    ("transcribe", "roles/datastore.user"): "project: claim jobs, renew leases, move statuses",
    ("transcribe", "roles/dlp.user"): "project (DLP has no finer resource), only with redactionEngine dlp: "
    "inspect redacted jobs' transcripts",
    (
        "transcribe",
        "roles/pubsub.subscriber",
    ): "the transcribe-requests-<priority>-worker subscriptions: pull, extend deadlines, ack",
    ("transcribe", "roles/pubsub.publisher"): "mixscribe-events, notes-requests and transcribe-requests topics: events, "
    "notes requests, piece requests of long files",
    ("notes", "roles/storage.objectUser"): "results bucket: read transcript.json, write notes.json and notes.md",
    ("notes", "roles/datastore.user"): "project: move jobs to done, cache LLM results in notes_cache",
    ("notes", "roles/pubsub.publisher"): "mixscribe-events topic: job.notes_ready and job.completed",
    ("notes", "roles/secretmanager.secretAccessor"): "llm-api-key secret: mounted as a file, never an env value",
    ("api", "roles/datastore.user"): "project: read, list and delete the caller's jobs; rate-limit buckets",
    ("api", "roles/storage.objectUser"): "uploads bucket: imports into callers' prefixes, deletes; results bucket: "
    "stream, rewrite (speaker renames) and delete outputs",
    ("api", "roles/iam.serviceAccountTokenCreator"): "its own account only: sign V4 URLs with signBlob (no key file)",
    ("webhooks", "roles/datastore.user"): "project: read the finished job, record the delivery outcome",
    ("webhooks", "roles/secretmanager.secretAccessor"): "webhook-signing-key secret: mounted as a file",
    ("dead-letters", "roles/datastore.user"): "project: fail the dead-lettered request's job",
    ("dead-letters", "roles/pubsub.publisher"): "mixscribe-events topic: job.failed for the dead-lettered job",
    **{
        (account, "roles/cloudtrace.agent"): "project: export the component's spans to Cloud Trace (write only)"
        for account in TELEMETRY_ACCOUNTS
    },
    **{
        (account, "roles/monitoring.metricWriter"): "project: export the component's metrics (write only)"
        for account in TELEMETRY_ACCOUNTS
    },
    ("trigger", "roles/run.invoker"): "each event-driven function's service: push subscriptions deliver with its "
    "OIDC tokens (private functions)",
    ("pubsub-agent", "roles/iam.serviceAccountTokenCreator"): "the trigger account only: Pub/Sub mints the push "
    "subscriptions' OIDC tokens as it",
    ("edge", f"projects/{{project}}/roles/{EDGE_UPLOADER_ROLE}"): "uploads bucket, objects under edge/ only: create "
    "segments, read back the one a retry may have stored",
    ("edge", "roles/pubsub.publisher"): "mixscribe-events topic: edge.segment_uploaded and edge.heartbeat",
    ("public", "roles/run.invoker"): "the api function only, when apiPublic: it checks ID tokens itself",
    ("dataflow", "roles/dataflow.worker"): "project: run Dataflow worker VMs",
    ("dataflow", "roles/pubsub.subscriber"): "mixscribe-events-analytics subscription: read events",
    ("dataflow", "roles/pubsub.viewer"): "mixscribe-events-analytics subscription: Dataflow's Pub/Sub source reads "
    "the subscription's metadata (pubsub.subscriptions.get)",
    ("dataflow", "roles/bigquery.dataEditor"): "mixscribe dataset: append rows through the Storage Write API",
    ("dataflow", "roles/storage.objectAdmin"): "the Dataflow staging bucket only: the launcher stages the workers' "
    "package, workers write temp files",
    ("dataflow", "roles/artifactregistry.reader"): "the mixscribe image repository: pull the Flex Template image",
    ("dataflow", "roles/storage.objectViewer"): "results bucket: backfill from metrics.json and transcripts",
}
SERVICE_AGENT_ROLES = {
    "roles/pubsub.publisher": "Cloud Storage service agent: publish the uploads bucket's notifications to "
    "upload-notifications (that topic only)",
    "pubsub-dlq-publisher": "Pub/Sub service agent: forward undeliverable messages to dead-letter topics",
    "pubsub-dlq-subscriber": "Pub/Sub service agent: acknowledge messages it dead-lettered",
}


@dataclass(frozen=True)
class Accounts:
    emails: dict[str, pulumi.Output[str]]
    names: dict[str, pulumi.Output[str]]  # resource names (projects/P/serviceAccounts/E), for grants on an account

    def member(self, account: str) -> pulumi.Output[str]:
        return self.emails[account].apply(lambda email: f"serviceAccount:{email}")


def why(account: str, role: str) -> str:
    """The recorded reason for a grant; a grant without one is a bug (custom roles: ``projects/{project}/roles/R``)."""
    return ROLE_RATIONALE[(account, role)]


def custom_role(project: str, role_id: str) -> str:
    return f"projects/{project}/roles/{role_id}"


class Identity(pulumi.ComponentResource):
    """Service accounts and the project-level grants that have no narrower resource."""

    def __init__(self, name: str, project: str, dlp: bool = False, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mixscribe:identity:Identity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        accounts = {
            key: gcp.serviceaccount.Account(
                f"{name}-{key}",
                account_id=f"mixscribe-{key}",
                display_name=f"mixscribe {key}",
                description=purpose,
                project=project,
                opts=child,
            )
            for key, purpose in ACCOUNTS.items()
        }
        self.accounts = Accounts(
            {key: acc.email for key, acc in accounts.items()}, {key: acc.name for key, acc in accounts.items()}
        )
        telemetry = [
            (account, role)
            for account in TELEMETRY_ACCOUNTS
            for role in ("roles/cloudtrace.agent", "roles/monitoring.metricWriter")
        ]
        for account, role in [
            ("on-upload", "roles/datastore.user"),
            ("transcribe", "roles/datastore.user"),
            ("notes", "roles/datastore.user"),
            ("api", "roles/datastore.user"),
            ("webhooks", "roles/datastore.user"),
            ("dead-letters", "roles/datastore.user"),
            ("dataflow", "roles/dataflow.worker"),
            *telemetry,
            *([("transcribe", "roles/dlp.user")] if dlp else []),
        ]:
            why(account, role)
            gcp.projects.IAMMember(
                f"{name}-{account}-{role.split('/')[1]}",
                project=project,
                role=role,
                member=self.accounts.member(account),
                opts=child,
            )
        why("api", "roles/iam.serviceAccountTokenCreator")
        gcp.serviceaccount.IAMMember(
            f"{name}-api-signs-as-itself",
            service_account_id=accounts["api"].name,
            role="roles/iam.serviceAccountTokenCreator",
            member=self.accounts.member("api"),
            opts=child,
        )
        self.register_outputs({key: email for key, email in self.accounts.emails.items()})
