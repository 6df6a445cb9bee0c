"""Local stand-in for Eventarc's Cloud Storage trigger.

Pulls the ``OBJECT_FINALIZE`` notifications that fake-gcs-server publishes to the Pub/Sub emulator
and POSTs each as a binary-mode CloudEvent ``google.cloud.storage.object.v1.finalized`` (the real
``ce-*`` headers and StorageObjectData body) to the function. Like Eventarc it is at-least-once: a
non-2xx answer or a timeout nacks the message and Pub/Sub delivers it again.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from datetime import datetime, timezone
from typing import Any

import requests

from mixscribe.logs import fields, setup_logging

log = logging.getLogger("eventarc")
FINALIZED = "google.cloud.storage.object.v1.finalized"


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
        "ce-subject": f"objects/{name}",
        "ce-time": occurred,
        "ce-bucket": bucket,
        "Content-Type": "application/json; charset=utf-8",
    }
    return headers, json.dumps(obj).encode()


class EventarcBridge:
    def __init__(self, subscription: str, target: str, bucket: str, timeout_s: float = 600.0) -> None:
        self.subscription = subscription
        self.target = target
        self.bucket = bucket
        self.timeout_s = timeout_s
        self.session = requests.Session()

    def deliver(self, message: Any) -> None:
        attributes = dict(message.attributes)
        if attributes.get("eventType", "OBJECT_FINALIZE") != "OBJECT_FINALIZE" or attributes.get("bucketId") != self.bucket:
            message.ack()
            return
        try:
            headers, body = cloud_event_request(attributes, message.data, message.message_id)
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
    parser.add_argument("--subscription", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--bucket", required=True)
    args = parser.parse_args(argv)
    setup_logging("eventarc")
    EventarcBridge(args.subscription, args.target, args.bucket).run()


if __name__ == "__main__":
    main()
