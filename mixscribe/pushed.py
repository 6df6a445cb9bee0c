"""A Pub/Sub message as a push subscription delivers it to a function.

functions-framework turns the push body (``{"message": {...}, "subscription": ...}``) into a
``google.cloud.pubsub.topic.v1.messagePublished`` CloudEvent whose source names the topic (taken
from the endpoint's path, see ``topology.push_path``); ``PushedMessage`` is what the handlers use of it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def parse_time(raw: object) -> datetime | None:
    """An RFC 3339 timestamp (``Z`` or an offset), or ``None``."""
    if not raw:
        return None
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class PushedMessage:
    data: bytes
    attributes: Mapping[str, str] = field(default_factory=dict)
    message_id: str = ""
    publish_time: datetime | None = None
    topic: str = ""  # the topic's short name

    @classmethod
    def from_cloud_event(cls, cloud_event: Any) -> PushedMessage:
        """Raises ``ValueError`` when the event carries no readable message."""
        payload = cloud_event.data if isinstance(cloud_event.data, Mapping) else {}
        message = payload.get("message")
        if not isinstance(message, Mapping):
            raise ValueError("the event carries no Pub/Sub message")
        try:
            data = base64.b64decode(message.get("data") or b"", validate=True)
        except (binascii.Error, TypeError) as exc:
            raise ValueError(f"the message data is not base64: {exc}") from exc
        source = str(cloud_event["source"])
        return cls(
            data=data,
            attributes={str(k): str(v) for k, v in (message.get("attributes") or {}).items()},
            message_id=str(message.get("messageId") or message.get("message_id") or cloud_event["id"]),
            publish_time=parse_time(message.get("publishTime") or cloud_event.get("time")),
            topic=source.rsplit("/topics/", 1)[1] if "/topics/" in source else "",
        )
