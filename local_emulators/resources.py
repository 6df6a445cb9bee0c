"""Topics, subscriptions (with dead-letter topics) and buckets of the local stack.

The same names and policies as infra/pulumi declares for the cloud; ``ensure_*`` are idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.api_core import exceptions as gexc
from google.protobuf import duration_pb2

from mixscribe.config import Settings

NOTIFICATIONS_TOPIC = "gcs-notifications"
EVENTARC_SUBSCRIPTION = "eventarc-on-upload"
NOTES_SUBSCRIPTION = "eventarc-notes"
ANALYTICS_SUBSCRIPTION = "mixscribe-events-analytics"
WEBHOOKS_SUBSCRIPTION = "eventarc-webhooks"


def dead_letter_subscription(topic: str) -> str:
    """The subscription delivering a dead-letter topic of requests to the dead_letters function."""
    return f"eventarc-dead-letters-{topic}"


@dataclass(frozen=True)
class SubscriptionSpec:
    name: str
    topic: str
    ack_deadline_s: int = 60
    dead_letter_topic: str | None = None
    max_delivery_attempts: int = 5
    min_backoff_s: int = 1
    max_backoff_s: int = 60


EVENTARC_ACK_DEADLINE_S = 600  # Eventarc's push subscriptions: the function's timeout


def topology(settings: Settings, eventarc_ack_deadline_s: int = EVENTARC_ACK_DEADLINE_S) -> tuple[list[str], list[SubscriptionSpec]]:
    """Every topic and subscription the system uses.

    A message whose delivery was in flight when a connection dropped comes back only after its
    subscription's ack deadline; ``eventarc_ack_deadline_s`` shortens that for the fault suites.
    """
    requests_dead = f"{settings.requests_topic}-dead"
    notifications_dead = f"{NOTIFICATIONS_TOPIC}-dead"
    notes_dead = f"{settings.notes_topic}-dead"
    webhooks_dead = f"{WEBHOOKS_SUBSCRIPTION}-dead"
    topics = [
        settings.requests_topic, requests_dead, settings.events_topic, NOTIFICATIONS_TOPIC, notifications_dead,
        settings.notes_topic, notes_dead, webhooks_dead,
    ]
    subscriptions = [
        SubscriptionSpec(
            settings.requests_subscription,
            settings.requests_topic,
            ack_deadline_s=settings.ack_deadline_s,
            dead_letter_topic=requests_dead,
            max_delivery_attempts=5,
        ),
        SubscriptionSpec(f"{requests_dead}-inspect", requests_dead),
        SubscriptionSpec(
            EVENTARC_SUBSCRIPTION, NOTIFICATIONS_TOPIC, ack_deadline_s=eventarc_ack_deadline_s, dead_letter_topic=notifications_dead,
            max_delivery_attempts=10,
        ),
        SubscriptionSpec(f"{notifications_dead}-inspect", notifications_dead),
        SubscriptionSpec(
            NOTES_SUBSCRIPTION, settings.notes_topic, ack_deadline_s=eventarc_ack_deadline_s, dead_letter_topic=notes_dead,
            max_delivery_attempts=5,
        ),
        SubscriptionSpec(f"{notes_dead}-inspect", notes_dead),
        SubscriptionSpec(ANALYTICS_SUBSCRIPTION, settings.events_topic),
        SubscriptionSpec(
            WEBHOOKS_SUBSCRIPTION, settings.events_topic, ack_deadline_s=eventarc_ack_deadline_s, dead_letter_topic=webhooks_dead,
            max_delivery_attempts=5,
        ),
        SubscriptionSpec(f"{webhooks_dead}-inspect", webhooks_dead),
        *(SubscriptionSpec(dead_letter_subscription(t), t, ack_deadline_s=60) for t in (requests_dead, notes_dead)),
    ]
    return topics, subscriptions


def ensure_pubsub(settings: Settings, eventarc_ack_deadline_s: int = EVENTARC_ACK_DEADLINE_S) -> None:
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    topics, subscriptions = topology(settings, eventarc_ack_deadline_s)
    for topic in topics:
        try:
            publisher.create_topic(request={"name": settings.topic_path(topic)})
        except gexc.AlreadyExists:
            pass
    for spec in subscriptions:
        request = {
            "name": settings.subscription_path(spec.name),
            "topic": settings.topic_path(spec.topic),
            "ack_deadline_seconds": spec.ack_deadline_s,
            "retry_policy": {
                "minimum_backoff": duration_pb2.Duration(seconds=spec.min_backoff_s),
                "maximum_backoff": duration_pb2.Duration(seconds=spec.max_backoff_s),
            },
        }
        if spec.dead_letter_topic:
            request["dead_letter_policy"] = {
                "dead_letter_topic": settings.topic_path(spec.dead_letter_topic),
                "max_delivery_attempts": spec.max_delivery_attempts,
            }
        try:
            subscriber.create_subscription(request=request)
        except gexc.AlreadyExists:
            pass
    subscriber.close()


def ensure_buckets(settings: Settings) -> None:
    from mixscribe.gcp import storage_client

    client = storage_client(settings)
    for name in (settings.upload_bucket, settings.results_bucket):
        try:
            client.create_bucket(name)
        except gexc.Conflict:
            pass
