"""Job webhooks: a small signed JSON body POSTed when a job ends (``done`` or ``failed``).

Signature (documented in README): header ``Mixscribe-Signature: t=<unix seconds>,v1=<hex>`` where
``hex = HMAC-SHA256(secret, f"{t}.{raw body}")``. Receivers recompute it with the shared secret,
compare in constant time and refuse timestamps older than a few minutes (replay).

Delivery runs in its own function off the events topic, so it never blocks the pipeline: up to
``webhook_max_attempts`` tries with exponential backoff and full jitter, every outcome recorded
on the job (``webhook: {state, attempts, last_status, last_error, updated_at}``). The URL is
vetted on every attempt (``safe_http``): no loopback, private or metadata addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from tenacity import RetryCallState, retry_if_result

from .config import Settings
from .event_types import JobCompleted, JobFailed
from .jobs import Job, JobStatus
from .logs import fields
from .retries import RetryPolicy
from .safe_http import FetchFailed, UrlRefused, request
from .store import JobStore, utcnow

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "Mixscribe-Signature"
TOLERANCE_S = 300
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 30.0


def webhook_secret(settings: Settings) -> bytes:
    """The signing key from the file ``MIXSCRIBE_WEBHOOK_SECRET_FILE`` names (a mounted secret) or ``…_SECRET``."""
    path = settings.webhook_secret_file
    if path:
        with open(path, encoding="utf-8") as handle:
            secret = handle.read().strip()
    else:
        secret = settings.webhook_secret
    if len(secret) < 16:
        raise ValueError("the webhook signing secret must be set and at least 16 characters")
    return secret.encode()


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: bytes, header: str, body: bytes, now: float | None = None, tolerance_s: int = TOLERANCE_S) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and is recent (what a receiver does)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def payload_for(job: Job, event_type: str, event_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": JobCompleted.TYPE if job.status is JobStatus.DONE else JobFailed.TYPE,
        "event": event_type,
        "job_id": job.job_id,
        "status": job.status.value,
        "error": job.error,
        "outputs": sorted(job.outputs),
        "occurred_at": utcnow().isoformat(),
    }


@dataclass(frozen=True)
class Attempt:
    status: int | None
    error: str

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _last_result(state: RetryCallState) -> Attempt:
    """After the last try: its attempt (recorded on the job), not an exception."""
    assert state.outcome is not None
    return cast(Attempt, state.outcome.result())


class WebhookSender:
    def __init__(
        self,
        settings: Settings,
        store: JobStore,
        secret: bytes,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.store = store
        self.secret = secret
        self.sleep = sleep

    def _attempt(self, url: str, body: bytes) -> Attempt:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "mixscribe-webhooks/1",
            SIGNATURE_HEADER: sign(self.secret, body, int(time.time())),
        }
        try:
            response = request(
                "POST",
                url,
                self.settings.allow_private_networks,
                self.settings.webhook_timeout_s,
                body=body,
                headers=headers,
                follow_redirects=False,
            )
            response.drain_conn()
            return Attempt(response.status, "" if 200 <= response.status < 300 else f"HTTP {response.status}")
        except (UrlRefused, FetchFailed) as exc:
            return Attempt(None, str(exc))

    def deliver(self, job: Job, event_type: str, event_id: str) -> str:
        """Deliver once per job; returns the recorded state (``delivered``, ``failed``, ``skipped``)."""
        url = job.options.webhook if job.options else ""
        if not url:
            return "skipped"
        if job.webhook_settled:
            return "skipped"
        body = json.dumps(payload_for(job, event_type, event_id), separators=(",", ":")).encode()
        policy = RetryPolicy(self.settings.webhook_max_attempts, BACKOFF_BASE_S, BACKOFF_CAP_S)
        retrying = policy.retrying(retry_if_result(lambda a: not a.delivered), self.sleep, retry_error_callback=_last_result)
        attempt: Attempt = retrying(self._attempt, url, body)
        attempts = retrying.statistics["attempt_number"]
        state = "delivered" if attempt.delivered else "failed"
        self.store.record_webhook(job.job_id, state, attempts, attempt.status, attempt.error)
        level = logging.INFO if state == "delivered" else logging.WARNING
        log.log(
            level,
            f"webhook {state}",
            extra=fields(job_id=job.job_id, attempts=attempts, status=attempt.status, reason=attempt.error or None),
        )
        return state
