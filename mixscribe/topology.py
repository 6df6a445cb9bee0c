"""The Pub/Sub topology, declared once: topics, subscriptions with their policies, who consumes each.

The Pulumi program (``infra/pulumi/mixscribe_infra/messaging.py``) creates exactly this in the cloud,
the local stack (``local_emulators/resources.py``) in the Pub/Sub emulator, and the policy tests
compare the program with it. Nothing else restates a topic, subscription, filter or policy.

Functions are fed by **push subscriptions declared here**, not by Eventarc triggers (whose
subscriptions carry no dead-letter policy): every subscription a function or the job consumes
dead-letters to a ``-dead`` topic that the ``dead_letters`` function drains. Cloud Storage publishes
the uploads bucket's ``OBJECT_FINALIZE`` notifications (``JSON_API_V1``) to ``UPLOADS``, as
fake-gcs-server does locally. A push endpoint is the function's URL plus ``/projects/P/topics/T``,
so the CloudEvent functions-framework makes of the push names the topic it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

UPLOADS = "upload-notifications"  # the uploads bucket's object notifications
REQUESTS = "transcribe-requests"  # work for the transcription jobs: one topic per priority, REQUESTS-<priority>
NOTES = "notes-requests"  # work for the notes function
EVENTS = "mixscribe-events"  # lifecycle events (analytics, webhooks)
ANALYTICS_SUBSCRIPTION = "mixscribe-events-analytics"
DEAD_SUFFIX = "-dead"
RETENTION_S = 7 * 86400
# the events that lead to a webhook POST (the webhooks subscription's filter; the handler checks again,
# since the emulator ignores filters)
WEBHOOK_EVENT_TYPES = ("job.completed", "job.failed", "upload.rejected")
NOTIFICATION_EVENT = "OBJECT_FINALIZE"
NOTIFICATION_PAYLOAD = "JSON_API_V1"

PUSH, PULL = "push", "pull"


@dataclass(frozen=True)
class Retry:
    """Redelivery backoff after a nack or a failed push (Pub/Sub's exponential backoff)."""

    minimum_backoff_s: int = 10
    maximum_backoff_s: int = 600

    def backoff_s(self, delivery_attempt: int) -> float:
        """The longest Pub/Sub waits before redelivering a message that failed its ``delivery_attempt``-th delivery."""
        return float(min(self.maximum_backoff_s, self.minimum_backoff_s * 2 ** max(0, delivery_attempt - 1)))


RETRY = Retry()


@dataclass(frozen=True)
class Subscription:
    """One subscription: its topic, how and by whom it is consumed, and its policies."""

    name: str
    topic: str
    delivery: str  # PUSH (to a function) or PULL
    consumer: str  # a function's directory (push), "transcribe" (the job), "dataflow" or "operators"
    ack_deadline_s: int = 60  # push: how long Pub/Sub waits for the function (its timeout)
    dead_letter_after: int = 0  # deliveries before the message moves to ``topic + DEAD_SUFFIX``; 0: never
    retry: Retry | None = RETRY
    filter: str = ""

    @property
    def dead_letter_topic(self) -> str | None:
        return self.topic + DEAD_SUFFIX if self.dead_letter_after else None


GPU, CPU = "gpu", "cpu"  # the transcription job classes (a deployment without GPUs runs its GPU class on the CPU job)


@dataclass(frozen=True)
class WorkQueue:
    """The transcription requests of one priority: their own topic and subscription, pulled by one job
    class, with their own dispatch (``debounce``: ``none`` starts tasks at every upload, ``short`` the
    usual window, ``long`` waits to gather a backlog, which is cheaper)."""

    priority: str
    job_class: str
    debounce: str

    def topic(self, base: str = REQUESTS) -> str:
        return f"{base}-{self.priority}"

    def subscription(self, base: str = REQUESTS) -> str:
        return f"{base}-{self.priority}-worker"


# most urgent first: a job pulls its queues in this order, so a high request never waits behind others
WORK_QUEUES = (WorkQueue("high", GPU, "none"), WorkQueue("normal", GPU, "short"), WorkQueue("batch", CPU, "long"))
PRIORITIES = tuple(queue.priority for queue in WORK_QUEUES)


def work_queue(priority: str) -> WorkQueue:
    """The queue of ``priority`` (intake refuses any other priority)."""
    return next(queue for queue in WORK_QUEUES if queue.priority == priority)


def _filter_types(types: tuple[str, ...]) -> str:
    return " OR ".join(f'attributes.type = "{t}"' for t in types)


_WORK = (
    Subscription("on-upload", UPLOADS, PUSH, "on_upload", ack_deadline_s=300, dead_letter_after=10),
    *(
        Subscription(queue.subscription(), queue.topic(), PULL, "transcribe", ack_deadline_s=60, dead_letter_after=5)
        for queue in WORK_QUEUES
    ),
    Subscription("notes", NOTES, PUSH, "notes", ack_deadline_s=540, dead_letter_after=5),
    Subscription(
        "webhooks", EVENTS, PUSH, "webhooks", ack_deadline_s=300, dead_letter_after=5, filter=_filter_types(WEBHOOK_EVENT_TYPES)
    ),
    # Dataflow's Pub/Sub source acknowledges on its own: no retry or dead-letter policy
    Subscription(ANALYTICS_SUBSCRIPTION, EVENTS, PULL, "dataflow", retry=None),
)
DEAD_LETTER_TOPICS = tuple(s.dead_letter_topic for s in _WORK if s.dead_letter_topic)
TOPICS = (UPLOADS, *(queue.topic() for queue in WORK_QUEUES), NOTES, EVENTS, *DEAD_LETTER_TOPICS)
SUBSCRIPTIONS: tuple[Subscription, ...] = (
    *_WORK,
    # the end of every chain: the dead_letters function fails the job and raises the alert; retried
    # until it succeeds (a dead letter of dead letters would only hide them), copies kept for operators
    *(
        Subscription(f"dead-letters-{dead.removesuffix(DEAD_SUFFIX)}", dead, PUSH, "dead_letters", ack_deadline_s=60)
        for dead in DEAD_LETTER_TOPICS
    ),
    *(Subscription(f"{dead}-inspect", dead, PULL, "operators", retry=None) for dead in DEAD_LETTER_TOPICS),
)


def subscription(name: str) -> Subscription:
    return next(s for s in SUBSCRIPTIONS if s.name == name)


def push_subscriptions(function: str) -> tuple[Subscription, ...]:
    """The push subscriptions that feed ``function`` (its directory under ``functions/``)."""
    return tuple(s for s in SUBSCRIPTIONS if s.delivery == PUSH and s.consumer == function)


def source_of(dead_letter_topic: str) -> Subscription | None:
    """The work subscription whose undeliverable messages land on ``dead_letter_topic`` (``None``: not one)."""
    return next((s for s in _WORK if s.dead_letter_topic == dead_letter_topic), None)


def push_path(project: str, topic: str) -> str:
    """The path a push endpoint carries after the function's URL (functions-framework reads the topic from it)."""
    return f"/projects/{project}/topics/{topic}"
