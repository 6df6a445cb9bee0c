"""Cloud Function (gen2, Pub/Sub ``mixscribe-events`` via Eventarc): job webhooks.

Runs beside the pipeline, never in it: a slow or dead receiver delays only its own delivery.
Only ``job.completed``, ``job.failed`` and ``upload.rejected`` events of jobs that name a webhook lead to a POST
(the trigger's filter says so in the cloud; the Pub/Sub emulator ignores filters, so the handler
checks again). Returning acknowledges; raising (Firestore unavailable) asks for redelivery.
"""

from __future__ import annotations

import base64
import functools
import json
import logging

import functions_framework
from cloudevents.http import CloudEvent

from mixscribe import gcp, telemetry
from mixscribe.config import Settings
from mixscribe.logs import fields, setup_logging
from mixscribe.store import JobStore
from mixscribe.webhooks import WebhookSender, webhook_secret

FINAL_EVENTS = ("job.completed", "job.failed", "upload.rejected")
setup_logging("webhooks")
log = logging.getLogger("webhooks")


@functools.lru_cache(maxsize=1)
def sender() -> WebhookSender:
    settings = Settings.from_env()
    return WebhookSender(settings, JobStore(gcp.firestore_client(settings)), webhook_secret())


@functions_framework.cloud_event
def on_job_event(cloud_event: CloudEvent) -> None:
    message = (cloud_event.data or {}).get("message") or {}
    attributes = message.get("attributes") or {}
    if attributes.get("type") not in FINAL_EVENTS:
        return
    try:
        event = json.loads(base64.b64decode(message.get("data") or b""))
        job_id, event_type, event_id = str(event["job_id"]), str(event["type"]), str(event["event_id"])
    except (ValueError, KeyError, TypeError) as exc:
        log.error("malformed job event dropped", extra=fields(id=cloud_event["id"], reason=str(exc)))
        return
    webhooks = sender()
    with telemetry.span("webhook", telemetry.traceparent_from(attributes), **{"mixscribe.job_id": job_id, "mixscribe.event": event_type}):
        job = webhooks.store.get(job_id)
        if job is None:
            return
        state = webhooks.deliver(job, event_type, event_id)
        log.info("job event handled", extra=fields(job_id=job_id, type=event_type, webhook=state))
    telemetry.flush()
