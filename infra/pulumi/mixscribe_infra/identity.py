"""One service account per component, and the written-down reason for every role it gets.

Roles are granted on the narrowest resource that takes IAM (a bucket, topic, subscription,
secret, job); only Firestore access (``roles/datastore.user``) and Eventarc's event receiver are
project-level, because those services have no finer IAM resource. No account is editor or owner.
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
    "trigger": "Eventarc: identity that invokes the event-driven functions",
    "dataflow": "beam_pipelines/analytics: the Dataflow workers",
}

# (account, role, resource kind) → why. The policy tests check every grant against this table.
TELEMETRY_ACCOUNTS = ("on-upload", "transcribe", "notes", "api", "webhooks", "dead-letters")
ROLE_RATIONALE: dict[tuple[str, str], str] = {
    ("on-upload", "roles/storage.objectViewer"): "uploads bucket: read the object's first bytes to probe it",
    ("on-upload", "roles/datastore.user"): "project: create and update jobs/{id} (Firestore has no per-collection IAM)",
    ("on-upload", "roles/pubsub.publisher"): "transcribe-requests and mixscribe-events topics: queue work, emit events",
    ("on-upload", "roles/run.jobsExecutorWithOverrides"): "transcribe jobs: start an execution with a task-count override",
    ("transcribe", "roles/storage.objectViewer"): "uploads bucket: download the audio",
    ("transcribe", "roles/storage.objectUser"): "results bucket: write (and overwrite on retry) transcripts and metrics",
    ("transcribe", "roles/datastore.user"): "project: claim jobs, renew leases, move statuses",
    ("transcribe", "roles/pubsub.subscriber"): "transcribe-requests-worker subscription: pull, extend deadlines, ack",
    ("transcribe", "roles/pubsub.publisher"): "mixscribe-events, notes-requests and transcribe-requests topics: events, "
                                              "notes requests, piece requests of long files",
    ("notes", "roles/storage.objectUser"): "results bucket: read transcript.json, write notes.json and notes.md",
    ("notes", "roles/datastore.user"): "project: move jobs to done, cache LLM results in notes_cache",
    ("notes", "roles/pubsub.publisher"): "mixscribe-events topic: job.notes_ready and job.completed",
    ("notes", "roles/secretmanager.secretAccessor"): "llm-api-key secret: mounted as a file, never an env value",
    ("api", "roles/datastore.user"): "project: read, list and delete the caller's jobs; rate-limit buckets",
    ("api", "roles/storage.objectUser"): "uploads bucket: imports into callers' prefixes, deletes; results bucket: "
                                         "stream and delete outputs",
    ("api", "roles/iam.serviceAccountTokenCreator"): "its own account only: sign V4 URLs with signBlob (no key file)",
    ("webhooks", "roles/datastore.user"): "project: read the finished job, record the delivery outcome",
    ("webhooks", "roles/secretmanager.secretAccessor"): "webhook-signing-key secret: mounted as a file",
    ("dead-letters", "roles/datastore.user"): "project: fail the dead-lettered request's job",
    ("dead-letters", "roles/pubsub.publisher"): "mixscribe-events topic: job.failed for the dead-lettered job",
    **{(account, "roles/cloudtrace.agent"): "project: export the component's spans to Cloud Trace (write only)"
       for account in TELEMETRY_ACCOUNTS},
    **{(account, "roles/monitoring.metricWriter"): "project: export the component's metrics (write only)"
       for account in TELEMETRY_ACCOUNTS},
    ("trigger", "roles/eventarc.eventReceiver"): "project: receive events for the triggers it is bound to",
    ("trigger", "roles/run.invoker"): "each event-driven function's service: deliver events (private functions)",
    ("public", "roles/run.invoker"): "the api function only, when apiPublic: it checks ID tokens itself",
    ("dataflow", "roles/dataflow.worker"): "project: run Dataflow worker VMs",
    ("dataflow", "roles/pubsub.subscriber"): "mixscribe-events-analytics subscription: read events",
    ("dataflow", "roles/bigquery.dataEditor"): "mixscribe dataset: write the analytics tables",
    ("dataflow", "roles/storage.objectViewer"): "results bucket: backfill from metrics.json and transcripts",
}
SERVICE_AGENT_ROLES = {
    "roles/pubsub.publisher": "Cloud Storage service agent: publish bucket notifications for Eventarc",
    "pubsub-dlq-publisher": "Pub/Sub service agent: forward undeliverable messages to dead-letter topics",
    "pubsub-dlq-subscriber": "Pub/Sub service agent: acknowledge messages it dead-lettered",
}


@dataclass(frozen=True)
class Accounts:
    emails: dict[str, pulumi.Output[str]]

    def member(self, account: str) -> pulumi.Output[str]:
        return self.emails[account].apply(lambda email: f"serviceAccount:{email}")


def why(account: str, role: str) -> str:
    """The recorded reason for a grant; a grant without one is a bug."""
    return ROLE_RATIONALE[(account, role)]


class Identity(pulumi.ComponentResource):
    """Service accounts and the project-level grants that have no narrower resource."""

    def __init__(self, name: str, project: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mixscribe:identity:Identity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        accounts = {
            key: gcp.serviceaccount.Account(
                f"{name}-{key}", account_id=f"mixscribe-{key}", display_name=f"mixscribe {key}",
                description=purpose, project=project, opts=child,
            )
            for key, purpose in ACCOUNTS.items()
        }
        self.accounts = Accounts({key: acc.email for key, acc in accounts.items()})
        telemetry = [(account, role) for account in TELEMETRY_ACCOUNTS
                     for role in ("roles/cloudtrace.agent", "roles/monitoring.metricWriter")]
        for account, role in [("on-upload", "roles/datastore.user"), ("transcribe", "roles/datastore.user"),
                              ("notes", "roles/datastore.user"), ("api", "roles/datastore.user"),
                              ("webhooks", "roles/datastore.user"), ("dead-letters", "roles/datastore.user"),
                              ("trigger", "roles/eventarc.eventReceiver"), ("dataflow", "roles/dataflow.worker"),
                              *telemetry]:
            why(account, role)
            gcp.projects.IAMMember(
                f"{name}-{account}-{role.split('/')[1]}", project=project, role=role,
                member=self.accounts.member(account), opts=child,
            )
        why("api", "roles/iam.serviceAccountTokenCreator")
        gcp.serviceaccount.IAMMember(
            f"{name}-api-signs-as-itself", service_account_id=accounts["api"].name,
            role="roles/iam.serviceAccountTokenCreator", member=self.accounts.member("api"), opts=child,
        )
        self.register_outputs({key: email for key, email in self.accounts.emails.items()})
