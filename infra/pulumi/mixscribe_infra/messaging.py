"""Topics with dead-letter topics, subscriptions with retry policies, and the IAM dead-lettering needs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from .identity import Accounts, why

REQUESTS = "transcribe-requests"
EVENTS = "mixscribe-events"
NOTES = "notes-requests"
WORKER_SUBSCRIPTION = "transcribe-requests-worker"
ANALYTICS_SUBSCRIPTION = "mixscribe-events-analytics"


@dataclass(frozen=True)
class SubscriptionSpec:
    name: str
    topic: str
    ack_deadline_s: int
    max_delivery_attempts: int
    consumer: str | None  # account that pulls it, if any (push subscriptions made by Eventarc have none)


SUBSCRIPTIONS = (
    SubscriptionSpec(WORKER_SUBSCRIPTION, REQUESTS, 60, 5, "transcribe"),
    SubscriptionSpec(ANALYTICS_SUBSCRIPTION, EVENTS, 60, 10, "dataflow"),
)


class Messaging(pulumi.ComponentResource):
    def __init__(self, name: str, project: str, project_number: str, accounts: Accounts,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mixscribe:messaging:Messaging", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pubsub_agent = f"serviceAccount:service-{project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
        self.topics: dict[str, gcp.pubsub.Topic] = {}
        self.dead_letters: dict[str, gcp.pubsub.Topic] = {}
        for topic in (REQUESTS, EVENTS, NOTES):
            self.topics[topic] = gcp.pubsub.Topic(f"{name}-{topic}", name=topic, project=project,
                                                  message_retention_duration="604800s", opts=child)
            dead = gcp.pubsub.Topic(f"{name}-{topic}-dead", name=f"{topic}-dead", project=project, opts=child)
            self.dead_letters[topic] = dead
            gcp.pubsub.TopicIAMMember(f"{name}-{topic}-dead-agent", topic=dead.name, role="roles/pubsub.publisher",
                                      member=pubsub_agent, opts=child)
            gcp.pubsub.Subscription(f"{name}-{topic}-dead-inspect", name=f"{topic}-dead-inspect", topic=dead.name,
                                    project=project, message_retention_duration="604800s", opts=child)
        self.subscriptions: dict[str, gcp.pubsub.Subscription] = {}
        for spec in SUBSCRIPTIONS:
            sub = gcp.pubsub.Subscription(
                f"{name}-{spec.name}", name=spec.name, topic=self.topics[spec.topic].name, project=project,
                ack_deadline_seconds=spec.ack_deadline_s,
                retry_policy=gcp.pubsub.SubscriptionRetryPolicyArgs(minimum_backoff="10s", maximum_backoff="600s"),
                dead_letter_policy=gcp.pubsub.SubscriptionDeadLetterPolicyArgs(
                    dead_letter_topic=self.dead_letters[spec.topic].id, max_delivery_attempts=spec.max_delivery_attempts),
                expiration_policy=gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
                opts=child,
            )
            self.subscriptions[spec.name] = sub
            gcp.pubsub.SubscriptionIAMMember(f"{name}-{spec.name}-dead-agent", subscription=sub.name,
                                             role="roles/pubsub.subscriber", member=pubsub_agent, opts=child)
            if spec.consumer:
                why(spec.consumer, "roles/pubsub.subscriber")
                gcp.pubsub.SubscriptionIAMMember(f"{name}-{spec.name}-{spec.consumer}", subscription=sub.name,
                                                 role="roles/pubsub.subscriber", member=accounts.member(spec.consumer),
                                                 opts=child)
        publishers = [(REQUESTS, "on-upload"), (EVENTS, "on-upload"), (EVENTS, "transcribe"), (NOTES, "transcribe"),
                      (REQUESTS, "transcribe"), (EVENTS, "notes"), (EVENTS, "dead-letters")]
        for topic, account in publishers:
            why(account, "roles/pubsub.publisher")
            gcp.pubsub.TopicIAMMember(f"{name}-{topic}-{account}", topic=self.topics[topic].name,
                                      role="roles/pubsub.publisher", member=accounts.member(account), opts=child)
        self.register_outputs({t: topic.name for t, topic in self.topics.items()})
