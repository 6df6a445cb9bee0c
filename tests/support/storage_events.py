"""Upload notifications as the ``on-upload`` push subscription delivers them, for tests that redeliver on purpose."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from mixscribe import topology


@dataclass(frozen=True)
class PushDelivery:
    path: str
    body: bytes


def notification_body(
    bucket: str,
    obj: dict[str, Any],
    message_id: str,
    event_time: datetime | None = None,
    subscription: str = "projects/p/subscriptions/on-upload",
) -> bytes:
    """The push body Pub/Sub sends for one Cloud Storage ``OBJECT_FINALIZE`` notification (``JSON_API_V1``)."""
    when = (event_time or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    attributes = {
        "bucketId": bucket,
        "objectId": str(obj["name"]),
        "objectGeneration": str(obj["generation"]),
        "eventType": topology.NOTIFICATION_EVENT,
        "payloadFormat": topology.NOTIFICATION_PAYLOAD,
        "eventTime": when,
        "notificationConfig": f"projects/_/buckets/{bucket}/notificationConfigs/1",
    }
    message = {
        "data": base64.b64encode(json.dumps(obj).encode()).decode(),
        "attributes": attributes,
        "messageId": message_id,
        "publishTime": when,
    }
    return json.dumps({"message": message, "subscription": subscription}).encode()


def storage_event(blob: Any, message_id: str, event_time: datetime | None = None, **overrides: Any) -> PushDelivery:
    """The delivery of ``blob``'s finalize notification (its object resource, with ``overrides``)."""
    blob.reload()
    obj = {**blob._properties, **overrides}
    path = topology.push_path(blob.client.project, topology.UPLOADS)
    return PushDelivery(path, notification_body(blob.bucket.name, obj, message_id, event_time))


def deliver(session: requests.Session, function_url: str, event: PushDelivery) -> int:
    response = session.post(function_url + event.path, data=event.body, headers={"Content-Type": "application/json"}, timeout=120)
    return response.status_code
