"""A Pub/Sub message as a push subscription delivers it to a function.

functions-framework turns the push body (``{"message": {...}, "subscription": ...}``) into a
``google.cloud.pubsub.topic.v1.messagePublished`` CloudEvent whose source names the topic (taken
from the endpoint's path, see ``topology.push_path``); ``PushedMessage`` is what the handlers use of it,
``PubSubFunction`` the one wrapper every such function runs in.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from . import telemetry
from .errors import PermanentError
from .logs import fields

log = logging.getLogger(__name__)
T = TypeVar("T")


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


@dataclass(frozen=True)
class PubSubFunction(Generic[T]):
    """The one wrapper of every Pub/Sub-triggered function (the framework's decorator stays in its main.py).

    The ack/retry contract: returning acknowledges; raising makes functions-framework answer 500, so
    Pub/Sub redelivers with the subscription's backoff and, after its attempts, dead-letters. A message
    nobody can ever handle (unreadable push, a ``parse`` that raises ``ValueError`` or ``PermanentError``)
    is logged at ``malformed_level`` and acknowledged; ``parse`` returns ``None`` for one that is not
    this function's (acknowledged quietly). ``handle`` runs in a span named ``span`` (none when ``None``:
    the use case opens its own) under the message's trace, and telemetry is flushed in every path.
    """

    name: str
    parse: Callable[[PushedMessage], T | None]
    handle: Callable[[T, PushedMessage], object]  # what it returns is not looked at
    span: str | None = None
    job_id: Callable[[T], str | None] = field(default=lambda _: None)
    malformed_level: int = logging.ERROR

    def __call__(self, cloud_event: Any) -> None:
        try:
            message = PushedMessage.from_cloud_event(cloud_event)
            parsed = self.parse(message)
        except (ValueError, PermanentError) as exc:
            alert = {"alert": True} if self.malformed_level >= logging.CRITICAL else {}
            log.log(
                self.malformed_level,
                "malformed message dropped",
                extra=fields(function=self.name, id=cloud_event["id"], reason=str(exc)[:500], **alert),
            )
            return
        if parsed is None:
            return
        try:
            if self.span is None:
                self.handle(parsed, message)
            else:
                parent = telemetry.traceparent_from(message.attributes)
                with telemetry.span(self.span, parent, **{"mixscribe.job_id": self.job_id(parsed)}):
                    self.handle(parsed, message)
        finally:
            telemetry.flush()
