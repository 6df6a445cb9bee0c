"""The topology (``mixscribe.topology``) and the buckets, created in the emulators; idempotent.

Exactly what the Pulumi program creates in the cloud: the same topics, subscriptions, ack deadlines,
retry and dead-letter policies and filters (the emulator ignores filters; the handlers check). Push
subscriptions point at the local functions' URLs; the emulator pushes (two deliveries at a time per
subscription) the body Pub/Sub sends, without the OIDC token Cloud Run checks in the cloud.
"""

from __future__ import annotations

from datetime import timedelta

from google.api_core import exceptions as gexc

from mixscribe import topology
from mixscribe.config import Settings


def _duration(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)  # proto-plus marshals it to a protobuf Duration


def subscription_request(project: str, spec: topology.Subscription, function_urls: dict[str, str]) -> dict:
    """The CreateSubscription request for ``spec``; push endpoints from ``function_urls`` (by directory)."""
    request: dict = {
        "name": f"projects/{project}/subscriptions/{spec.name}",
        "topic": f"projects/{project}/topics/{spec.topic}",
        "ack_deadline_seconds": spec.ack_deadline_s,
        "message_retention_duration": _duration(topology.RETENTION_S),
    }
    if spec.retry is not None:
        request["retry_policy"] = {
            "minimum_backoff": _duration(spec.retry.minimum_backoff_s),
            "maximum_backoff": _duration(spec.retry.maximum_backoff_s),
        }
    if spec.dead_letter_topic:
        request["dead_letter_policy"] = {
            "dead_letter_topic": f"projects/{project}/topics/{spec.dead_letter_topic}",
            "max_delivery_attempts": spec.dead_letter_after,
        }
    if spec.filter:
        request["filter"] = spec.filter
    if spec.delivery == topology.PUSH:
        request["push_config"] = {"push_endpoint": function_urls[spec.consumer] + topology.push_path(project, spec.topic)}
    return request


def ensure_topics(project: str) -> None:
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    for topic in topology.TOPICS:
        try:
            publisher.create_topic(request={"name": f"projects/{project}/topics/{topic}"})
        except gexc.AlreadyExists:
            pass


def ensure_subscriptions(project: str, function_urls: dict[str, str]) -> None:
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    for spec in topology.SUBSCRIPTIONS:
        try:
            subscriber.create_subscription(request=subscription_request(project, spec, function_urls))
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
