"""Cloud Run job task: pull transcription requests until the queue is idle, then exit 0."""

from __future__ import annotations

import logging

from mixscribe import gcp, topology
from mixscribe.config import Settings
from mixscribe.events import PubSubEventSink
from mixscribe.logs import fields
from mixscribe.store import JobStore
from mixscribe.transcription import ModelCache, Outcome, TaskIdentity, Transcription
from mixscribe.transcription.dynamic_batching import DynamicBatcher
from mixscribe.transcription.engine import BatchRule
from mixscribe.work_requests import TranscriptionRequest

from .startup import MARKS, PROCESS_STARTED_AT
from .worker import PullWorker

log = logging.getLogger("transcribe")


def task_identity(settings: Settings) -> TaskIdentity:
    return TaskIdentity(settings.task_index, settings.task_count, settings.task_attempt, settings.execution)


def idle_timeout_s(settings: Settings, task: TaskIdentity) -> float:
    """How long the task waits on an empty queue. A retried task's predecessor died, perhaps holding
    a request: wait until that request's ack deadline (the subscription's, if it died before extending
    it) and the subscription's backoff have passed and the job's lease has run out."""
    if task.attempt > 0:
        subscription = topology.subscription(topology.WORK_QUEUES[0].subscription())  # every work queue has one policy
        deadline = max(subscription.ack_deadline_s, settings.ack_deadline_s)
        backoff = subscription.retry.backoff_s(1) if subscription.retry else 0.0
        return max(settings.idle_timeout_s, deadline + backoff + settings.lease_s + 5)
    return settings.idle_timeout_s


def main() -> int:
    """Run one task; returns the number of requests handled."""
    settings = Settings.from_env()
    task = task_identity(settings)
    queues = settings.queues_of_this_job()  # most urgent first
    models = ModelCache(settings)
    models.preload(settings.models().default_for(queues[0].priority))  # while the clients come up and the first pull waits
    publisher = gcp.publisher_client()
    transcription = Transcription(
        settings=settings,
        store=JobStore(gcp.documents(settings)),
        blobs=gcp.blobs(settings),
        publisher=publisher,
        events=PubSubEventSink(publisher, settings.topic_path(settings.events_topic)),
        models=models,
        task=task,
        max_attempts=settings.max_delivery_attempts,
    )

    rule = BatchRule.for_device(settings, models.placement.device)
    batcher = DynamicBatcher(rule.size, settings.batch_gather_s) if rule.requests > 1 and rule.size > 0 else None
    transcription.batcher = batcher

    def handle(payload: bytes) -> Outcome:
        if transcription.task_start is None:  # this task's first request: its start is over
            MARKS.mark("first_pull")
            transcription.task_start = {**MARKS.phases, "total_s": MARKS.total_s(), "started_at": PROCESS_STARTED_AT}
        if batcher is None:
            return transcription.process(payload)
        with batcher.request():
            return transcription.process(payload)

    MARKS.mark("clients")
    worker = PullWorker(
        subscriber=gcp.subscriber_client(),
        subscriptions=[
            settings.subscription_path(q.subscription(settings.requests_topic)) for q in settings.queues_of_this_job()
        ],
        handle=handle,
        renew=transcription.renew,
        idle_timeout_s=idle_timeout_s(settings, task),
        ack_deadline_s=settings.ack_deadline_s,
        busy_retry_s=settings.lease_s + 2,  # a live lease ends within lease_s unless its holder renews it
        retry=topology.subscription(topology.WORK_QUEUES[0].subscription()).retry,
        concurrency=rule.requests,
        weigh=TranscriptionRequest.audio_seconds,
        max_audio_s=settings.batch_requests_audio_s,
        taken=batcher.expect if batcher else None,
    )
    worker.install_signal_handlers()
    placement = str(transcription.models.placement)
    log.info(
        "task started",
        extra=fields(worker=task.worker, queues=[q.priority for q in queues], placement=placement, requests=rule.requests),
    )
    return worker.run()
