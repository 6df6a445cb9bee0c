"""Cloud Storage object notifications: what the uploads bucket publishes for each finalized object.

``JSON_API_V1`` notifications carry the object resource as the message body and ``eventType``,
``bucketId``, ``objectId``, ``objectGeneration``, ``eventTime`` as attributes. Light on purpose:
the dead_letters function reads them too, without intake's audio dependencies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import topology
from .jobs import SourceObject
from .pushed import PushedMessage, parse_time


@dataclass(frozen=True)
class StorageObjectData:
    """What we use of a ``google.events.cloud.storage.v1.StorageObjectData`` payload."""

    source: SourceObject
    metadata: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_event_data(cls, data: Mapping[str, Any]) -> StorageObjectData:
        try:
            source = SourceObject(
                bucket=str(data["bucket"]),
                name=str(data["name"]),
                generation=int(data["generation"]),
                size=int(data.get("size") or 0),
                content_type=str(data.get("contentType") or "application/octet-stream"),
                md5=str(data.get("md5Hash") or ""),
                crc32c=str(data.get("crc32c") or ""),
            )
            return cls(source, dict(data.get("metadata") or {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a storage object payload: {exc}") from exc


@dataclass(frozen=True)
class UploadNotification:
    """A Cloud Storage Pub/Sub notification of a finalized upload (``JSON_API_V1``: the object resource)."""

    object: StorageObjectData
    event_time: datetime | None

    @classmethod
    def from_message(cls, message: PushedMessage) -> UploadNotification | None:
        """The notification, ``None`` for other event types; ``ValueError`` when it is unreadable."""
        attributes = message.attributes
        if attributes.get("eventType", topology.NOTIFICATION_EVENT) != topology.NOTIFICATION_EVENT:
            return None
        if attributes.get("payloadFormat", topology.NOTIFICATION_PAYLOAD) != topology.NOTIFICATION_PAYLOAD:
            raise ValueError(f"payload format {attributes.get('payloadFormat')!r} is not {topology.NOTIFICATION_PAYLOAD}")
        try:
            data = json.loads(message.data)
        except ValueError as exc:
            raise ValueError(f"the notification body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("the notification body is not an object resource")
        return cls(StorageObjectData.from_event_data(data), parse_time(attributes.get("eventTime")) or message.publish_time)
