"""Cloud Function (gen2, Eventarc ``google.cloud.storage.object.v1.finalized``): uploads become jobs.

Thin handler: turn the CloudEvent into ``StorageObjectData`` and hand it to ``mixscribe.intake``.
Returning acknowledges the event (bad uploads end as ``failed`` jobs); raising asks Eventarc to
retry (a dependency was down).
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime

import functions_framework
from cloudevents.http import CloudEvent

from mixscribe import gcp, telemetry
from mixscribe.config import Settings
from mixscribe.events import PubSubEventSink
from mixscribe.intake import Intake, StorageObjectData
from mixscribe.launcher import launcher_for
from mixscribe.logs import fields, setup_logging
from mixscribe.store import JobStore

FINALIZED = "google.cloud.storage.object.v1.finalized"
setup_logging("on_upload")
log = logging.getLogger("on_upload")


@functools.lru_cache(maxsize=1)
def intake() -> Intake:
    """Clients are built once per instance, on first use."""
    settings = Settings.from_env()
    publisher = gcp.publisher_client()
    return Intake(
        settings=settings,
        store=JobStore(gcp.firestore_client(settings)),
        storage=gcp.storage_client(settings),
        publisher=publisher,
        events=PubSubEventSink(publisher, settings.topic_path(settings.events_topic)),
        launcher=launcher_for(settings),
    )


def _event_time(cloud_event: CloudEvent) -> datetime | None:
    raw = cloud_event.get("time")
    if not raw:
        return None
    return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))


@functions_framework.cloud_event
def on_upload(cloud_event: CloudEvent) -> None:
    """Entry point: one finalized object."""
    if cloud_event["type"] != FINALIZED:
        log.warning("unexpected event type ignored", extra=fields(type=cloud_event["type"]))
        return
    try:
        obj = StorageObjectData.from_event_data(cloud_event.data or {})
    except ValueError as exc:
        log.error("malformed storage event dropped", extra=fields(id=cloud_event["id"], reason=str(exc)))
        return
    try:
        intake().handle(obj, _event_time(cloud_event), cloud_event.get(telemetry.TRACEPARENT))
    finally:
        telemetry.flush()
