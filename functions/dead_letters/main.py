"""Cloud Function (gen2, Pub/Sub ``*-dead`` topics via Eventarc): dead-lettered requests fail their job.

Thin handler around ``mixscribe.deadletters``. Returning acknowledges; raising (Firestore down)
asks Eventarc to redeliver.
"""

from __future__ import annotations

import base64
import functools

import functions_framework
from cloudevents.http import CloudEvent

from mixscribe import gcp, telemetry
from mixscribe.config import Settings
from mixscribe.deadletters import DeadLetter, DeadLetterHandler
from mixscribe.events import PubSubEventSink
from mixscribe.logs import setup_logging
from mixscribe.store import JobStore

setup_logging("dead_letters")


@functools.lru_cache(maxsize=1)
def handler() -> DeadLetterHandler:
    settings = Settings.from_env()
    publisher = gcp.publisher_client()
    return DeadLetterHandler(
        JobStore(gcp.firestore_client(settings)), PubSubEventSink(publisher, settings.topic_path(settings.events_topic))
    )


@functions_framework.cloud_event
def on_dead_letter(cloud_event: CloudEvent) -> None:
    message = (cloud_event.data or {}).get("message") or {}
    data = base64.b64decode(message.get("data") or b"")
    topic = str(cloud_event["source"]).removeprefix("//pubsub.googleapis.com/")
    letter = DeadLetter.from_message(message, topic, data)
    with telemetry.span("dead_letter", telemetry.traceparent_from(message.get("attributes")), **{"mixscribe.job_id": letter.job_id}):
        handler().handle(letter)
    telemetry.flush()
