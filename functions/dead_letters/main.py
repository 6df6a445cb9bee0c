"""Cloud Function (gen2, push subscriptions ``dead-letters-*`` on every ``*-dead`` topic): dead letters end loudly.

Thin handler around ``mixscribe.deadletters``: failed jobs, failed webhooks, one alert line each.
Returning acknowledges; raising (Firestore down) asks Pub/Sub to redeliver.
"""

from __future__ import annotations

import functools
import logging

import functions_framework
from cloudevents.http import CloudEvent

from mixscribe import gcp, telemetry
from mixscribe.config import Settings
from mixscribe.deadletters import DeadLetter, DeadLetterHandler
from mixscribe.events import PubSubEventSink
from mixscribe.logs import fields, setup_logging
from mixscribe.pushed import PushedMessage
from mixscribe.store import JobStore

setup_logging("dead_letters")
log = logging.getLogger("dead_letters")


@functools.lru_cache(maxsize=1)
def handler() -> DeadLetterHandler:
    settings = Settings.from_env()
    publisher = gcp.publisher_client()
    return DeadLetterHandler(
        JobStore(gcp.documents(settings)),
        PubSubEventSink(publisher, settings.topic_path(settings.events_topic)),
        settings.job_ttl_days,
    )


@functions_framework.cloud_event
def on_dead_letter(cloud_event: CloudEvent) -> None:
    try:
        message = PushedMessage.from_cloud_event(cloud_event)
    except ValueError as exc:
        log.critical("unreadable dead letter dropped", extra=fields(alert=True, id=cloud_event["id"], reason=str(exc)))
        return
    letter = DeadLetter.from_message(message)
    with telemetry.span("dead_letter", telemetry.traceparent_from(message.attributes), **{"mixscribe.job_id": letter.job_id}):
        handler().handle(letter)
    telemetry.flush()
