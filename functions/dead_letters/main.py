"""Cloud Function (gen2, push subscriptions ``dead-letters-*`` on every ``*-dead`` topic): dead letters end loudly.

Thin handler around ``mixscribe.deadletters``: failed jobs, failed webhooks, one alert line each.
Returning acknowledges; raising (Firestore down) asks Pub/Sub to redeliver.
"""

from __future__ import annotations

import functools
import logging

import functions_framework
from cloudevents.http import CloudEvent

from mixscribe import gcp
from mixscribe.config import Settings
from mixscribe.deadletters import DeadLetter, DeadLetterHandler
from mixscribe.events import PubSubEventSink
from mixscribe.logs import setup_logging
from mixscribe.pushed import PubSubFunction
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


HANDLER = PubSubFunction(
    "dead_letters",
    DeadLetter.from_message,
    lambda letter, _: handler().handle(letter),
    span="dead_letter",
    job_id=lambda letter: letter.job_id,
    malformed_level=logging.CRITICAL,  # an unreadable dead letter is still a loss: alert
)


@functions_framework.cloud_event
def on_dead_letter(cloud_event: CloudEvent) -> None:
    HANDLER(cloud_event)
