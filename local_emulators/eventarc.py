"""Local stand-in for Eventarc triggers (Cloud Storage and Pub/Sub).

``storage``: pulls the ``OBJECT_FINALIZE`` notifications that fake-gcs-server publishes to the
Pub/Sub emulator and POSTs each as a binary-mode CloudEvent ``google.cloud.storage.object.v1.finalized``
(the real ``ce-*`` headers and StorageObjectData body). ``pubsub``: POSTs each message of a topic
as ``google.cloud.pubsub.topic.v1.messagePublished`` (body ``{message, subscription}``). Like
Eventarc it is at-least-once: a non-2xx answer or a timeout nacks the message and Pub/Sub
delivers it again.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import signal
import threading
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import requests

from mixscribe.logs import fields, setup_logging

log = logging.getLogger("eventarc")
FINALIZED = "google.cloud.storage.object.v1.finalized"
PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '%"')


def header_value(value: str) -> str:
    """A CloudEvents attribute as an HTTP header value: UTF-8, percent-encoded outside printable ASCII
    (the binding's rule; object names may hold any Unicode, which ``requests`` cannot send raw)."""
    return quote(value, safe=_HEADER_SAFE)


def cloud_event_request(attributes: dict[str, str], data: bytes, message_id: str) -> tuple[dict[str, str], bytes]:
    """Headers and body of the binary-mode CloudEvent Eventarc sends for one notification."""
    obj: dict[str, Any] = json.loads(data)
    bucket = attributes.get("bucketId") or obj["bucket"]
    name = attributes.get("objectId") or obj["name"]
    occurred = obj.get("updated") or obj.get("timeCreated") or datetime.now(timezone.utc).isoformat()
    headers = {
        "ce-specversion": "1.0",
        "ce-id": message_id,
        "ce-source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "ce-type": FINALIZED,
        "ce-subject": header_value(f"objects/{name}"),
        "ce-time": occurred,
        "ce-bucket": bucket,
        "Content-Type": "application/json; charset=utf-8",
    }
    return headers, json.dumps(obj).encode()


def pubsub_event_request(message: Any, topic: str, subscription: str) -> tuple[dict[str, str], bytes]:
    """Headers and body of the CloudEvent Eventarc sends for one Pub/Sub message."""
    publish_time = message.publish_time.isoformat() if message.publish_time else datetime.now(timezone.utc).isoformat()
    body = {
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": dict(message.attributes),
            "messageId": message.message_id,
            "publishTime": publish_time,
        },
        "subscription": subscription,
    }
    headers = {
        "ce-specversion": "1.0",
        "ce-id": message.message_id,
        "ce-source": f"//pubsub.googleapis.com/{topic}",
        "ce-type": PUBLISHED,
        "ce-time": publish_time,
        "Content-Type": "application/json; charset=utf-8",
    }
    return headers, json.dumps(body).encode()


class EventarcBridge:
    def __init__(self, kind: str, subscription: str, target: str, bucket: str = "", topic: str = "", timeout_s: float = 600.0) -> None:
        self.kind = kind
        self.subscription = subscription
        self.target = target
        self.bucket = bucket
        self.topic = topic
        self.timeout_s = timeout_s
        self.session = requests.Session()

    def _request(self, message: Any) -> tuple[dict[str, str], bytes] | None:
        """The CloudEvent for a message, or ``None`` when the trigger's filter excludes it."""
        if self.kind == "pubsub":
            return pubsub_event_request(message, self.topic, self.subscription)
        attributes = dict(message.attributes)
        if attributes.get("eventType", "OBJECT_FINALIZE") != "OBJECT_FINALIZE" or attributes.get("bucketId") != self.bucket:
            return None
        return cloud_event_request(attributes, message.data, message.message_id)

    def deliver(self, message: Any) -> None:
        attributes = dict(message.attributes)
        try:
            built = self._request(message)
            if built is None:
                message.ack()
                return
            headers, body = built
            response = self.session.post(self.target, data=body, headers=headers, timeout=self.timeout_s)
        except (ValueError, KeyError) as exc:
            log.error("unreadable notification dropped", extra=fields(reason=str(exc)))
            message.ack()
            return
        except requests.RequestException as exc:
            log.warning("delivery failed; will retry", extra=fields(object=attributes.get("objectId"), reason=str(exc)))
            message.nack()
            return
        if 200 <= response.status_code < 300:
            message.ack()
        else:
            log.warning(
                "function refused the event; will retry",
                extra=fields(object=attributes.get("objectId"), status=response.status_code),
            )
            message.nack()

    def run(self) -> None:
        from google.cloud import pubsub_v1

        subscriber = pubsub_v1.SubscriberClient()
        flow = pubsub_v1.types.FlowControl(max_messages=4)
        future = subscriber.subscribe(self.subscription, callback=self.deliver, flow_control=flow)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        log.info("eventarc bridge running", extra=fields(subscription=self.subscription, target=self.target))
        stop.wait()
        future.cancel()
        subscriber.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kind", choices=("storage", "pubsub"), required=True)
    parser.add_argument("--subscription", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--bucket", default="", help="storage: the bucket the trigger watches")
    parser.add_argument("--topic", default="", help="pubsub: the topic's full path")
    args = parser.parse_args(argv)
    setup_logging("eventarc")
    EventarcBridge(args.kind, args.subscription, args.target, args.bucket, args.topic).run()


if __name__ == "__main__":
    main()
