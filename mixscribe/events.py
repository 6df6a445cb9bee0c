"""Lifecycle events on the ``mixscribe-events`` topic (contract).

An event's id is derived from what it reports (job, type, discriminator such as the attempt), so a
retried step re-emits the same ``event_id`` and the analytics pipeline can deduplicate it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from .event_types import BODIES, EventBody, body_of
from .ports import Publisher
from .telemetry import trace_attributes

SCHEMA_VERSION = 1  # the envelope's; each body type carries its own VERSION in ``schema_version``
_NAMESPACE = uuid.UUID("6f1c7f4e-3a55-4d3e-9d0e-6a2f0b1f6d11")
EVENT_TYPES = frozenset(BODIES)


@dataclass(frozen=True)
class Event:
    """One lifecycle event: ``{event_id, type, job_id, occurred_at, source, schema_version, attributes}``."""

    event_id: str
    type: str
    job_id: str
    occurred_at: str
    source: str
    schema_version: int = SCHEMA_VERSION
    attributes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, default=str).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Event:
        return cls(**json.loads(data))

    def body(self) -> EventBody:
        """The attributes as this type's dataclass (``mixscribe.event_types``)."""
        return body_of(self.type, self.attributes)


def make_event(body: EventBody, job_id: str, source: str, discriminator: str = "", now: datetime | None = None) -> Event:
    """The event carrying ``body``; its id is stable for the same (type, job, discriminator)."""
    event_id = str(uuid.uuid5(_NAMESPACE, f"{body.TYPE}|{job_id}|{discriminator}"))
    occurred = (now or datetime.now(UTC)).isoformat()
    return Event(event_id, body.TYPE, job_id, occurred, source, body.VERSION, body.attributes())


class EventSink(Protocol):
    def emit(self, event: Event) -> None: ...


class PubSubEventSink:
    """Publishes events on the ``Publisher`` port (with the current ``traceparent``) and waits for the ack."""

    def __init__(self, publisher: Publisher, topic_path: str, timeout_s: float = 30.0) -> None:
        self._publisher = publisher
        self._topic = topic_path
        self._timeout = timeout_s

    def emit(self, event: Event) -> None:
        future = self._publisher.publish(
            self._topic,
            event.to_json(),
            type=event.type,
            job_id=event.job_id,
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            **trace_attributes(),
        )
        future.result(timeout=self._timeout)
