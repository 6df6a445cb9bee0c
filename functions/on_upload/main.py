"""Cloud Function (gen2, push subscription ``on-upload``): uploads become jobs.

Fed by the uploads bucket's Pub/Sub notifications (``mixscribe.topology``). Thin handler: turn the
pushed notification into ``StorageObjectData`` and hand it to ``mixscribe.intake``. Returning
acknowledges (bad uploads end as ``failed`` jobs); raising asks Pub/Sub to redeliver (a dependency
was down) and, after the subscription's attempts, to dead-letter it.
"""

from __future__ import annotations

import functools
import logging

import functions_framework
from cloudevents.http import CloudEvent

from mixscribe import gcp, telemetry
from mixscribe.config import Settings
from mixscribe.dispatch import dispatcher_for
from mixscribe.events import PubSubEventSink
from mixscribe.gcp.cloud_run_launcher import launcher_for
from mixscribe.intake import Intake
from mixscribe.logs import fields, setup_logging
from mixscribe.notifications import UploadNotification
from mixscribe.pushed import PubSubFunction, PushedMessage
from mixscribe.store import JobStore
from mixscribe.transcript_cache import TranscriptCache

setup_logging("on_upload")
log = logging.getLogger("on_upload")


@functools.lru_cache(maxsize=1)
def intake() -> Intake:
    """Clients are built once per instance, on first use."""
    settings = Settings.from_env()
    publisher = gcp.publisher_client()
    store = JobStore(gcp.documents(settings))
    blobs = gcp.blobs(settings)
    return Intake(
        settings=settings,
        store=store,
        blobs=blobs,
        publisher=publisher,
        events=PubSubEventSink(publisher, settings.topic_path(settings.events_topic)),
        dispatcher=dispatcher_for(settings, store, launcher_for(settings)),
        cache=TranscriptCache(store.documents, blobs, settings) if settings.result_cache else None,
    )


def _notification(message: PushedMessage) -> UploadNotification | None:
    notification = UploadNotification.from_message(message)
    if notification is None:
        log.warning("unexpected notification ignored", extra=fields(type=message.attributes.get("eventType")))
    return notification


def _handle(notification: UploadNotification, message: PushedMessage) -> None:
    intake().handle(notification.object, notification.event_time, telemetry.traceparent_from(message.attributes))


HANDLER = PubSubFunction("on_upload", _notification, _handle)  # intake opens its span under the job's own trace


@functions_framework.cloud_event
def on_upload(cloud_event: CloudEvent) -> None:
    """Entry point: one object notification."""
    HANDLER(cloud_event)
