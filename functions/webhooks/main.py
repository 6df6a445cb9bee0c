"""Cloud Function (gen2, push subscription ``webhooks`` on ``mixscribe-events``): job webhooks.

Runs beside the pipeline, never in it: a slow or dead receiver delays only its own delivery.
Only ``topology.WEBHOOK_EVENT_TYPES`` events of jobs that name a webhook lead to a POST (the
subscription's filter says so in the cloud; the Pub/Sub emulator ignores filters, so the handler
checks again). Returning acknowledges; raising (Firestore unavailable) asks for redelivery.
"""

from __future__ import annotations

import functools
import logging

import functions_framework
from cloudevents.http import CloudEvent

from mixscribe import gcp, topology
from mixscribe.config import Settings
from mixscribe.events import Event
from mixscribe.logs import fields, setup_logging
from mixscribe.pushed import PubSubFunction, PushedMessage
from mixscribe.store import JobStore
from mixscribe.webhooks import WebhookSender, webhook_secret

setup_logging("webhooks")
log = logging.getLogger("webhooks")


@functools.lru_cache(maxsize=1)
def sender() -> WebhookSender:
    settings = Settings.from_env()
    return WebhookSender(settings, JobStore(gcp.documents(settings)), webhook_secret(settings))


def _event(message: PushedMessage) -> Event | None:
    """The job event, if it is one webhooks are sent for (the emulator ignores the subscription's filter)."""
    if message.attributes.get("type") not in topology.WEBHOOK_EVENT_TYPES:
        return None
    try:
        return Event.from_json(message.data)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a job event: {exc}") from exc


def _handle(event: Event, message: PushedMessage) -> None:
    webhooks = sender()
    job = webhooks.store.get(event.job_id)
    if job is None:
        return
    state = webhooks.deliver(job, event.type, event.event_id)
    log.info("job event handled", extra=fields(job_id=event.job_id, type=event.type, webhook=state))


HANDLER = PubSubFunction("webhooks", _event, _handle, span="webhook", job_id=lambda event: event.job_id)


@functions_framework.cloud_event
def on_job_event(cloud_event: CloudEvent) -> None:
    HANDLER(cloud_event)
