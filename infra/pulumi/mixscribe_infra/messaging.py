"""The Pub/Sub topology of ``mixscribe.topology`` in the cloud, and the IAM its delivery needs.

Topics and subscriptions are built from the shared declaration only (the local stack builds the
same). Functions are fed by push subscriptions made here (OIDC tokens of the trigger account, the
function's URL as audience), so each carries its dead-letter policy; Cloud Storage publishes the
uploads bucket's finalize notifications to ``topology.UPLOADS``.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mixscribe import topology

from .identity import Accounts, why

# who publishes to which topic (each grant's reason is in identity.ROLE_RATIONALE)
PUBLISHERS = (
    *((queue.topic(), "on-upload") for queue in topology.WORK_QUEUES),
    (topology.EVENTS, "on-upload"),
    (topology.EVENTS, "transcribe"),
    (topology.NOTES, "transcribe"),
    *((queue.topic(), "transcribe") for queue in topology.WORK_QUEUES),  # a long file's piece requests
    (topology.EVENTS, "notes"),
    (topology.EVENTS, "dead-letters"),
    (topology.EVENTS, "edge"),
)
# pull consumers: topology consumer → the account that pulls
PULLERS = {"transcribe": "transcribe", "dataflow": "dataflow"}


def _seconds(value: int) -> str:
    return f"{value}s"


class Messaging(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        project: str,
        project_number: str,
        accounts: Accounts,
        uploads_bucket: pulumi.Input[str],
        function_urls: dict[str, pulumi.Output[str]],
        storage_agent: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mixscribe:messaging:Messaging", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pubsub_agent = f"serviceAccount:service-{project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
        self.topics: dict[str, gcp.pubsub.Topic] = {
            topic: gcp.pubsub.Topic(
                f"{name}-{topic}",
                name=topic,
                project=project,
                message_retention_duration=_seconds(topology.RETENTION_S),
                opts=child,
            )
            for topic in topology.TOPICS
        }
        for dead in topology.DEAD_LETTER_TOPICS:
            gcp.pubsub.TopicIAMMember(
                f"{name}-{dead}-agent",
                topic=self.topics[dead].name,
                role="roles/pubsub.publisher",
                member=pubsub_agent,
                opts=child,
            )
        # Cloud Storage → UPLOADS: the storage service agent publishes the bucket's notifications
        agent_publishes = gcp.pubsub.TopicIAMMember(
            f"{name}-{topology.UPLOADS}-storage-agent",
            topic=self.topics[topology.UPLOADS].name,
            role="roles/pubsub.publisher",
            member=f"serviceAccount:{storage_agent}",
            opts=child,
        )
        gcp.storage.Notification(
            f"{name}-uploads-finalized",
            bucket=uploads_bucket,
            payload_format=topology.NOTIFICATION_PAYLOAD,
            topic=self.topics[topology.UPLOADS].id,
            event_types=[topology.NOTIFICATION_EVENT],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[agent_publishes]),
        )
        # push deliveries carry OIDC tokens Pub/Sub mints as the trigger account
        why("pubsub-agent", "roles/iam.serviceAccountTokenCreator")
        gcp.serviceaccount.IAMMember(
            f"{name}-pubsub-agent-mints-trigger-tokens",
            service_account_id=accounts.names["trigger"],
            role="roles/iam.serviceAccountTokenCreator",
            member=pubsub_agent,
            opts=child,
        )
        self.subscriptions: dict[str, gcp.pubsub.Subscription] = {}
        for spec in topology.SUBSCRIPTIONS:
            sub = gcp.pubsub.Subscription(
                f"{name}-{spec.name}",
                name=spec.name,
                topic=self.topics[spec.topic].name,
                project=project,
                ack_deadline_seconds=spec.ack_deadline_s,
                message_retention_duration=_seconds(topology.RETENTION_S),
                retry_policy=gcp.pubsub.SubscriptionRetryPolicyArgs(
                    minimum_backoff=_seconds(spec.retry.minimum_backoff_s), maximum_backoff=_seconds(spec.retry.maximum_backoff_s)
                )
                if spec.retry
                else None,
                dead_letter_policy=gcp.pubsub.SubscriptionDeadLetterPolicyArgs(
                    dead_letter_topic=self.topics[spec.dead_letter_topic].id, max_delivery_attempts=spec.dead_letter_after
                )
                if spec.dead_letter_topic
                else None,
                filter=spec.filter or None,
                push_config=self._push(spec, project, function_urls, accounts),
                expiration_policy=gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
                opts=child,
            )
            self.subscriptions[spec.name] = sub
            if spec.dead_letter_topic:
                gcp.pubsub.SubscriptionIAMMember(
                    f"{name}-{spec.name}-dead-agent",
                    subscription=sub.name,
                    role="roles/pubsub.subscriber",
                    member=pubsub_agent,
                    opts=child,
                )
            if spec.delivery == topology.PULL and spec.consumer in PULLERS:
                account = PULLERS[spec.consumer]
                why(account, "roles/pubsub.subscriber")
                gcp.pubsub.SubscriptionIAMMember(
                    f"{name}-{spec.name}-{account}",
                    subscription=sub.name,
                    role="roles/pubsub.subscriber",
                    member=accounts.member(account),
                    opts=child,
                )
            if spec.delivery == topology.PULL and spec.consumer == "dataflow":
                why("dataflow", "roles/pubsub.viewer")
                gcp.pubsub.SubscriptionIAMMember(
                    f"{name}-{spec.name}-dataflow-viewer",
                    subscription=sub.name,
                    role="roles/pubsub.viewer",
                    member=accounts.member("dataflow"),
                    opts=child,
                )
        for topic, account in PUBLISHERS:
            why(account, "roles/pubsub.publisher")
            gcp.pubsub.TopicIAMMember(
                f"{name}-{topic}-{account}",
                topic=self.topics[topic].name,
                role="roles/pubsub.publisher",
                member=accounts.member(account),
                opts=child,
            )
        self.register_outputs({t: topic.name for t, topic in self.topics.items()})

    @staticmethod
    def _push(
        spec: topology.Subscription, project: str, function_urls: dict[str, pulumi.Output[str]], accounts: Accounts
    ) -> gcp.pubsub.SubscriptionPushConfigArgs | None:
        if spec.delivery != topology.PUSH:
            return None
        url = function_urls[spec.consumer]
        return gcp.pubsub.SubscriptionPushConfigArgs(
            push_endpoint=url.apply(lambda base: base + topology.push_path(project, spec.topic)),
            oidc_token=gcp.pubsub.SubscriptionPushConfigOidcTokenArgs(
                service_account_email=accounts.emails["trigger"], audience=url
            ),
        )
