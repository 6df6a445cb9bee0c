"""Cloud Function (gen2, push subscription ``webhooks`` on ``mixscribe-events``): job webhooks.

Runs beside the pipeline, never in it: a slow or dead receiver delays only its own delivery.
Only ``topology.WEBHOOK_EVENT_TYPES`` events of jobs that name a webhook lead to a POST (the
subscription's filter says so in the cloud; the Pub/Sub emulator ignores filters, so the handler
checks again). Returning acknowledges; raising (Firestore unavailable) asks for redelivery.
"""

from __future__ import annotations

import functools
import json
import logging

import functions_framework
from cloudevents.http import CloudEvent

from mixscribe import gcp, telemetry, topology
from mixscribe.config import Settings
from mixscribe.logs import fields, setup_logging
from mixscribe.pushed import PushedMessage
from mixscribe.store import JobStore
from mixscribe.webhooks import WebhookSender, webhook_secret

setup_logging("webhooks")
log = logging.getLogger("webhooks")


@functools.lru_cache(maxsize=1)
def sender() -> WebhookSender:
    settings = Settings.from_env()
    return WebhookSender(settings, JobStore(gcp.documents(settings)), webhook_secret(settings))


@functions_framework.cloud_event
def on_job_event(cloud_event: CloudEvent) -> None:
    try:
        message = PushedMessage.from_cloud_event(cloud_event)
    except ValueError as exc:
        log.error("malformed job event dropped", extra=fields(id=cloud_event["id"], reason=str(exc)))
        return
    attributes = message.attributes
    if attributes.get("type") not in topology.WEBHOOK_EVENT_TYPES:
        return
    try:
        event = json.loads(message.data)
        job_id, event_type, event_id = str(event["job_id"]), str(event["type"]), str(event["event_id"])
    except (ValueError, KeyError, TypeError) as exc:
        log.error("malformed job event dropped", extra=fields(id=cloud_event["id"], reason=str(exc)))
        return
    webhooks = sender()
    try:
        with telemetry.span(
            "webhook", telemetry.traceparent_from(attributes), **{"mixscribe.job_id": job_id, "mixscribe.event": event_type}
        ):
            job = webhooks.store.get(job_id)
            if job is None:
                return
            state = webhooks.deliver(job, event_type, event_id)
            log.info("job event handled", extra=fields(job_id=job_id, type=event_type, webhook=state))
    finally:
        telemetry.flush()  # in every path, the early return for a deleted job too
