"""Storage finalize events as Eventarc delivers them, for tests that redeliver on purpose."""

from __future__ import annotations

import json
from typing import Any

import requests

from local_emulators.eventarc import cloud_event_request


def storage_event(blob: Any, message_id: str) -> tuple[dict[str, str], bytes]:
    """The CloudEvent Eventarc sends for ``blob``'s finalize (same shape the local bridge sends)."""
    blob.reload()
    return cloud_event_request({"bucketId": blob.bucket.name, "objectId": blob.name}, json.dumps(blob._properties).encode(), message_id)


def deliver(session: requests.Session, url: str, event: tuple[dict[str, str], bytes]) -> int:
    headers, body = event
    return session.post(url, data=body, headers=headers, timeout=120).status_code
