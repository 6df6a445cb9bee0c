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
from concurrent.futures import ThreadPoolExecutor
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

    def deliver(self, message: Any) -> bool:
        """POST one message's CloudEvent; True to acknowledge it, False to have it redelivered."""
        attributes = dict(message.attributes)
        try:
            built = self._request(message)
            if built is None:
                return True
            headers, body = built
            response = self.session.post(self.target, data=body, headers=headers, timeout=self.timeout_s)
        except (ValueError, KeyError) as exc:
            log.error("unreadable notification dropped", extra=fields(reason=str(exc)))
            return True
        except requests.RequestException as exc:
            log.warning("delivery failed; will retry", extra=fields(object=attributes.get("objectId"), reason=str(exc)))
            return False
        if 200 <= response.status_code < 300:
            return True
        log.warning(
            "function refused the event; will retry",
            extra=fields(object=attributes.get("objectId"), status=response.status_code),
        )
        return False

    def run(self, concurrency: int = 4) -> None:
        """Unary pulls, up to ``concurrency`` deliveries at a time, until SIGTERM.

        Unary pulls rather than a streaming pull: each is a fresh RPC, so a dropped connection (an
        emulator restart) costs one failed call, where a streaming pull was seen to stall for minutes.
        """
        from google.api_core import exceptions as gexc
        from google.cloud import pubsub_v1

        subscriber = pubsub_v1.SubscriberClient()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        slots = threading.BoundedSemaphore(concurrency)
        pool = ThreadPoolExecutor(concurrency)
        log.info("eventarc bridge running", extra=fields(subscription=self.subscription, target=self.target))

        def settle(received: Any) -> None:
            try:
                ack = self.deliver(received.message)
                request = {"subscription": self.subscription, "ack_ids": [received.ack_id]}
                if ack:
                    subscriber.acknowledge(request=request)
                else:
                    subscriber.modify_ack_deadline(request={**request, "ack_deadline_seconds": 0})
            except gexc.GoogleAPICallError as exc:  # the message comes back after its ack deadline
                log.warning("could not settle a message", extra=fields(reason=str(exc)))
            finally:
                slots.release()

        while not stop.is_set():
            slots.acquire()
            free = 1
            while free < concurrency and slots.acquire(blocking=False):
                free += 1
            try:
                response = subscriber.pull(request={"subscription": self.subscription, "max_messages": free}, timeout=10)
                received = list(response.received_messages)
            except (gexc.GoogleAPICallError, gexc.RetryError):
                received = []
                stop.wait(0.5)
            for _ in range(free - len(received)):
                slots.release()
            if not received:
                stop.wait(0.05)
            for message in received:
                pool.submit(settle, message)
        pool.shutdown(wait=False, cancel_futures=True)
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
